"""Speed settings: first-token latency and the delay between chunks, as the CLI sets them."""
from __future__ import annotations

import time

import httpx
import pytest

from glm.emulator.testing import RunningEmulator


@pytest.fixture(scope="module")
def realistic():
    with RunningEmulator(first_token_ms=250, chunk_delay_ms=40) as running:
        yield running


def test_first_chunk_waits_first_token_ms_and_later_chunks_the_chunk_delay(realistic):
    body = {"model": "glm-4-flash", "stream": True, "messages": [{"role": "user", "content": "[[glm-len:6]]"}]}
    arrivals = []
    started = time.monotonic()
    with httpx.stream(
        "POST", f"{realistic.base_url}/chat/completions", json=body,
        headers={"Authorization": f"Bearer {realistic.api_key}"}, timeout=10,
    ) as response:
        for line in response.iter_lines():
            if line.startswith("data: "):
                arrivals.append(time.monotonic() - started)
    assert len(arrivals) == 8
    assert arrivals[0] >= 0.25
    assert arrivals[5] - arrivals[0] >= 5 * 0.04 * 0.9


def test_non_stream_reply_waits_first_token_ms(realistic):
    started = time.monotonic()
    response = httpx.post(
        f"{realistic.base_url}/chat/completions",
        json={"model": "glm-4-flash", "messages": [{"role": "user", "content": "hi"}]},
        headers={"Authorization": f"Bearer {realistic.api_key}"},
    )
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.25


def test_listening_line_names_the_port_and_the_api_base(realistic):
    assert realistic.base_url == f"http://127.0.0.1:{realistic.port}/api/paas/v4"
    assert realistic.root_url == f"http://127.0.0.1:{realistic.port}"
