"""Decoding and measuring the images a vision request carries, with the platform's limits."""
from __future__ import annotations

import base64
import binascii
import io
from collections import Counter
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from .chat_request import ImageRef
from .colours import nearest_colour_name
from .errors import EmulatorError

MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_IMAGE_SIDE = 6000
ACCEPTED_FORMATS = frozenset({"JPEG", "PNG"})
# Colour is judged on a small copy: enough to find what covers most of the picture.
SAMPLE_SIDE = 64


@dataclass(frozen=True)
class ImageFacts:
    url: str
    fetched: bool
    width: int = 0
    height: int = 0
    colour: str | None = None

    def describe(self, number: int) -> str:
        if not self.fetched:
            return f"Image {number}: could not fetch {self.url} (the emulator has no network access)."
        return f"Image {number}: {self.width}×{self.height} pixels, mostly {self.colour}."


def inspect_image(image: ImageRef) -> ImageFacts:
    """Measure a base64 image or note that a URL cannot be fetched; raise 400/1214 on a bad image."""
    if image.is_remote:
        return ImageFacts(url=image.url, fetched=False)
    data = _decode_base64(image.url)
    if len(data) >= MAX_IMAGE_BYTES:
        raise EmulatorError("1214", "图片大小超过限制，单张图片需小于 5MB。")
    try:
        picture = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError):
        raise EmulatorError("1214", "图片格式不支持，请使用 jpg 或 png 图片。") from None
    with picture:
        if picture.format not in ACCEPTED_FORMATS:
            raise EmulatorError("1214", "图片格式不支持，请使用 jpg 或 png 图片。")
        width, height = picture.size
        if width > MAX_IMAGE_SIDE or height > MAX_IMAGE_SIDE:
            raise EmulatorError("1214", "图片像素超过限制，宽和高均不能超过 6000 像素。")
        try:
            colour = _dominant_colour(picture)
        except (OSError, ValueError):
            raise EmulatorError("1214", "图片已损坏，无法解析。") from None
    return ImageFacts(url="", fetched=True, width=width, height=height, colour=colour)


def _decode_base64(url: str) -> bytes:
    payload = url.split("base64,", 1)[1] if url.startswith("data:") and "base64," in url else url
    try:
        return base64.b64decode("".join(payload.split()), validate=True)
    except (binascii.Error, ValueError):
        raise EmulatorError("1214", "图片 base64 编码不合法。") from None


def _dominant_colour(picture: Image.Image) -> str:
    # JPEG can decode straight to a reduced size, which keeps large photos cheap.
    picture.draft("RGB", (SAMPLE_SIDE, SAMPLE_SIDE))
    sample = picture.convert("RGB")
    sample.thumbnail((SAMPLE_SIDE, SAMPLE_SIDE))
    names: Counter[str] = Counter()
    for count, rgb in sample.getcolors(maxcolors=SAMPLE_SIDE * SAMPLE_SIDE):
        names[nearest_colour_name(rgb)] += count
    return names.most_common(1)[0][0]
