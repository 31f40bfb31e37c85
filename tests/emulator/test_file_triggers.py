"""Download faults for generated pictures: [[glm-file:...]] triggers in an image prompt shape
how GET /files/ serves the picture, so clients can test their download limits."""
from __future__ import annotations

import io
import time

import httpx
from PIL import Image

from glm.emulator.generations import NOT_AN_IMAGE, SLOW_PIECES


def _generate(http, prompt: str) -> str:
    body = {"model": "cogview-4", "prompt": prompt, "size": "512x512"}
    return http.post("/images/generations", json=body).json()["data"][0]["url"]


def test_expired_trigger_gives_a_url_that_is_already_gone(http):
    url = _generate(http, "a harbour [[glm-file:expired]]")
    assert httpx.get(url, timeout=10).status_code == 404


def test_not_image_trigger_serves_html_that_claims_to_be_a_png(http):
    response = httpx.get(_generate(http, "a harbour [[glm-file:not-image]]"), timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content == NOT_AN_IMAGE


def test_pad_trigger_serves_a_valid_png_that_many_bytes_larger_without_a_length(http):
    plain = httpx.get(_generate(http, "a lighthouse"), timeout=10).content
    padded = httpx.get(_generate(http, "a lighthouse [[glm-file-pad:2000000]]"), timeout=10)
    assert "content-length" not in padded.headers
    assert padded.headers["transfer-encoding"] == "chunked"
    assert len(padded.content) >= 2_000_000 + 12
    picture = Image.open(io.BytesIO(padded.content))
    picture.load()
    assert (picture.format, picture.size) == ("PNG", (512, 512))
    assert len(plain) < 100_000


def test_slow_trigger_sends_the_file_in_pieces_with_pauses(http):
    url = _generate(http, "a lighthouse [[glm-file-slow:40]]")
    started = time.monotonic()
    pieces = 0
    with httpx.stream("GET", url, timeout=10) as response:
        data = b""
        for piece in response.iter_raw():
            pieces += 1
            data += piece
    elapsed = time.monotonic() - started
    assert elapsed >= (SLOW_PIECES - 1) * 0.040 * 0.9
    assert pieces >= SLOW_PIECES // 2
    assert Image.open(io.BytesIO(data)).size == (512, 512)
