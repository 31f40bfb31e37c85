"""Checking downloaded bytes with Pillow and making the gallery's thumbnail.

A file is accepted only if Pillow decodes it completely as PNG or JPEG with exactly the size
that was asked for; neither the URL's name nor the Content-Type header is believed.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

CONTENT_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg"}
EXTENSIONS = {"PNG": "png", "JPEG": "jpg"}
THUMBNAIL_CONTENT_TYPE = "image/jpeg"
# CogView sizes stop at 2^21 pixels; refusing far larger headers before decoding keeps a hostile
# file from costing memory.
MAX_PIXELS = 2**22


class PictureRejected(Exception):
    """reason: "not_an_image" or "wrong_size"."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class CheckedPicture:
    data: bytes
    format: str
    width: int
    height: int

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.format]


def check_picture(data: bytes, *, expected_size: tuple[int, int]) -> CheckedPicture:
    """data as a CheckedPicture, or PictureRejected."""
    try:
        with Image.open(io.BytesIO(data)) as probe:
            picture_format, size = probe.format, probe.size
            if picture_format not in CONTENT_TYPES:
                raise PictureRejected("not_an_image", f"format {picture_format}")
            if size[0] * size[1] > MAX_PIXELS:
                raise PictureRejected("wrong_size", f"{size[0]}x{size[1]}")
            probe.verify()
        # verify() checks structure only; decoding every pixel catches a truncated file.
        with Image.open(io.BytesIO(data)) as decoded:
            decoded.load()
    except PictureRejected:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise PictureRejected("not_an_image", type(exc).__name__) from exc
    if tuple(size) != tuple(expected_size):
        raise PictureRejected("wrong_size", f"{size[0]}x{size[1]}, expected {expected_size[0]}x{expected_size[1]}")
    return CheckedPicture(data=data, format=picture_format, width=size[0], height=size[1])


def make_thumbnail(picture: CheckedPicture, *, longest_side: int) -> bytes:
    """A JPEG whose longest side is at most longest_side pixels."""
    with Image.open(io.BytesIO(picture.data)) as image:
        image.load()
        if image.mode not in ("RGB", "L"):
            # JPEG has no alpha: lay the picture on white rather than on black.
            background = Image.new("RGB", image.size, "white")
            rgba = image.convert("RGBA")
            background.paste(rgba, mask=rgba.getchannel("A"))
            image = background
        image.thumbnail((longest_side, longest_side), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=85, optimize=True)
        return out.getvalue()
