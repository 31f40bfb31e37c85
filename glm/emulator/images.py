"""CogView stand-in: checks an image request and renders a deterministic PNG from the prompt."""
from __future__ import annotations

import colorsys
import hashlib
import io
import re
import struct
import zlib
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageDraw

from .catalog import IMAGE_MODELS
from .colours import NAMED_COLOURS, colour_named_in
from .errors import EmulatorError, invalid_parameter

DEFAULT_SIZE = "1024x1024"
RECOMMENDED_SIZES = frozenset({"1024x1024", "768x1344", "864x1152", "1344x768", "1152x864", "1440x720", "720x1440"})
MIN_SIDE, MAX_SIDE, SIDE_STEP = 512, 2048, 16
MAX_PIXELS = 2**21
_SIZE = re.compile(r"^(\d{1,5})x(\d{1,5})$")


@dataclass(frozen=True)
class ImageRequest:
    model: str
    prompt: str
    width: int
    height: int


def parse_image_request(body: Any) -> ImageRequest:
    if not isinstance(body, dict):
        raise EmulatorError("1210")
    model = body.get("model")
    if model is None:
        raise EmulatorError("1213", "未正常接收到model参数。")
    if model not in IMAGE_MODELS:
        raise EmulatorError("1211")
    prompt = body.get("prompt")
    if prompt is None:
        raise EmulatorError("1213", "未正常接收到prompt参数。")
    if not isinstance(prompt, str) or not prompt.strip():
        raise invalid_parameter("prompt")
    quality = body.get("quality")
    if quality is not None and quality not in ("standard", "hd"):
        raise invalid_parameter("quality")
    watermark = body.get("watermark_enabled")
    if watermark is not None and not isinstance(watermark, bool):
        raise invalid_parameter("watermark_enabled")
    width, height = parse_size(body.get("size"))
    return ImageRequest(model=model, prompt=prompt, width=width, height=height)


def parse_size(size: Any) -> tuple[int, int]:
    """Width and height of an allowed size: a recommended one or a custom one within the rules."""
    if size is None:
        size = DEFAULT_SIZE
    match = _SIZE.match(size) if isinstance(size, str) else None
    if not match:
        raise invalid_parameter("size")
    width, height = int(match.group(1)), int(match.group(2))
    if f"{width}x{height}" in RECOMMENDED_SIZES:
        return width, height
    if not all(MIN_SIDE <= side <= MAX_SIDE and side % SIDE_STEP == 0 for side in (width, height)):
        raise invalid_parameter("size")
    if width * height > MAX_PIXELS:
        raise invalid_parameter("size")
    return width, height


def render_png(prompt: str, width: int, height: int) -> bytes:
    """A PNG of exactly width×height: a background in the prompt's colour, plus a few shapes.

    Same prompt and size, same bytes. The background covers most of the picture, so a vision
    model (or the emulator's own) sees the colour the prompt asked for.
    """
    digest = hashlib.sha256(prompt.encode()).digest()
    named = colour_named_in(prompt)
    background = NAMED_COLOURS[named] if named else _colour_from(digest[0:3])
    picture = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(picture)
    unit = min(width, height) // 8
    # Three shapes, each at most a small share of the area, placed and coloured by the digest.
    for number in range(3):
        seed = digest[4 + number * 5: 9 + number * 5]
        x = seed[0] * (width - 2 * unit) // 255
        y = seed[1] * (height - 2 * unit) // 255
        colour = _contrast(background, seed[2])
        box = (x, y, x + unit + seed[3] % unit, y + unit + seed[4] % unit)
        if number == 0:
            draw.ellipse(box, fill=colour)
        elif number == 1:
            draw.rectangle(box, fill=colour)
        else:
            draw.polygon([(box[0], box[3]), ((box[0] + box[2]) // 2, box[1]), (box[2], box[3])], fill=colour)
    output = io.BytesIO()
    picture.save(output, format="PNG", compress_level=1)
    return output.getvalue()


def _colour_from(three: bytes) -> tuple[int, int, int]:
    return (three[0], three[1], three[2])


def _contrast(background: tuple[int, int, int], hue_byte: int) -> tuple[int, int, int]:
    lightness = sum(background) / (3 * 255)
    r, g, b = colorsys.hls_to_rgb(hue_byte / 255, 0.2 if lightness > 0.5 else 0.8, 0.7)
    return (int(r * 255), int(g * 255), int(b * 255))


def pad_png(png: bytes, extra_bytes: int) -> bytes:
    """The same PNG made extra_bytes larger by a private ancillary chunk before IEND, which
    decoders skip: still a valid picture, just a big file."""
    kind, data = b"glMp", bytes(extra_bytes)
    chunk = struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    iend = png[-12:]
    return png[:-12] + chunk + iend
