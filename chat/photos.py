"""Turns uploaded bytes into a clean photo, or refuses them.

Nothing about an upload is trusted: not its name, not its content type. The bytes must decode
completely with Pillow as one of a few formats, within byte and pixel limits checked before
any pixel is decoded, with nothing appended after the image. What is kept is re-encoded from
the pixels (orientation applied, every piece of metadata gone), plus a thumbnail and, when the
photo is larger than the GLM API accepts, a smaller copy for the model.
"""
from __future__ import annotations

import io
import struct
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError

# Formats accepted from the browser; GIF is converted (first frame), the rest re-encoded as is.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
THUMBNAIL_SIDE = 320
# The stored original of a PNG upload is compressed fast rather than small: at zlib level 6 a
# 20-megapixel photo-like PNG took 7-10 s to write, at level 1 about 1 s of CPU, for a file
# a fifth larger (bench/photos.py, docs/benchmarks.md). Thumbnails keep level 6.
ORIGINAL_PNG_COMPRESS_LEVEL = 1
# What the GLM vision API takes (glm-api.md): under 5 MB, at most 6000×6000, JPEG or PNG.
API_MAX_BYTES = 5 * 1024 * 1024
API_MAX_SIDE = 6000


class PhotoRefused(Exception):
    def __init__(self, code: str, message):
        super().__init__(code)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class EncodedImage:
    data: bytes
    content_type: str
    width: int
    height: int

    @property
    def extension(self) -> str:
        return "png" if self.content_type == "image/png" else "jpg"


@dataclass(frozen=True)
class CleanPhoto:
    original: EncodedImage
    thumbnail: EncodedImage
    # None when the original already fits what the API accepts.
    for_model: EncodedImage | None


def clean_photo(data: bytes, *, max_bytes: int, max_pixels: int) -> CleanPhoto:
    """Validate, decode and re-encode an upload; raises PhotoRefused with a user-facing message."""
    if not data:
        raise PhotoRefused("empty", _("The file is empty."))
    if len(data) > max_bytes:
        raise PhotoRefused(
            "too_large", _("The file is larger than %(mb)s MB.") % {"mb": max_bytes // (1024 * 1024)}
        )
    try:
        image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except Image.DecompressionBombError:
        raise PhotoRefused(
            "too_many_pixels",
            _("The image has too many pixels (at most %(mp)s megapixels).") % {"mp": max_pixels // 1_000_000},
        ) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise PhotoRefused("not_an_image", _("This is not a photo we accept: send a JPEG, PNG, WebP or GIF image.")) from None
    width, height = image.size
    if width * height > max_pixels:
        raise PhotoRefused(
            "too_many_pixels",
            _("The image has too many pixels (at most %(mp)s megapixels).") % {"mp": max_pixels // 1_000_000},
        )
    source_format = image.format
    try:
        image.load()  # decode every pixel: a truncated or corrupt file fails here, not later
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise PhotoRefused("corrupt", _("The image is damaged or incomplete.")) from None
    if _has_trailing_data(data, source_format):
        raise PhotoRefused("trailing_data", _("The file has extra data after the image and was refused."))
    ImageOps.exif_transpose(image, in_place=True)
    keep_png = source_format in ("PNG", "GIF") or _has_transparency(image)
    clean = _pixels_without_metadata(image, png=keep_png)
    original = _encode(clean, png=keep_png, compress_level=ORIGINAL_PNG_COMPRESS_LEVEL)
    return CleanPhoto(
        original=original,
        thumbnail=_thumbnail(clean, png=keep_png),
        for_model=_fit_for_model(clean, original),
    )


def _has_transparency(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)


def _pixels_without_metadata(image: Image.Image, *, png: bool) -> Image.Image:
    """A fresh image holding only pixels: no EXIF, GPS, ICC, comments or text chunks travel on.

    The decoded image is closed once its pixels are copied, so a big photo exists at most
    twice at any moment (a 24-megapixel photo is 96 MB per copy in Pillow's 4-byte pixels).
    Everything encoded afterwards is this image or made from it by resizing, which carries
    no metadata either.
    """
    mode = ("RGBA" if _has_transparency(image) else "RGB") if png else "RGB"
    source = image if image.mode == mode else image.convert(mode)
    if source is not image:
        image.close()
    clean = Image.new(mode, source.size)
    clean.paste(source)
    source.close()
    return clean


def _encode(clean: Image.Image, *, png: bool, quality: int = 90, compress_level: int = 6) -> EncodedImage:
    """Encodes an image made by _pixels_without_metadata (or resized from one)."""
    buffer = io.BytesIO()
    if png:
        clean.save(buffer, format="PNG", optimize=False, compress_level=compress_level)
        content_type = "image/png"
    else:
        rgb = clean if clean.mode == "RGB" else clean.convert("RGB")
        rgb.save(buffer, format="JPEG", quality=quality, optimize=False)
        content_type = "image/jpeg"
    return EncodedImage(buffer.getvalue(), content_type, clean.width, clean.height)


def _fitted(image: Image.Image, side: int) -> Image.Image:
    """The image scaled down to fit a side×side square (itself if it already fits). Resizing
    with a reducing gap first shrinks by whole factors, so no full-size copy is made."""
    width, height = image.size
    scale = side / max(width, height)
    if scale >= 1:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return image.resize(size, Image.LANCZOS, reducing_gap=3.0)


def _thumbnail(clean: Image.Image, *, png: bool) -> EncodedImage:
    return _encode(_fitted(clean, THUMBNAIL_SIDE), png=png, quality=82)


def _fit_for_model(clean: Image.Image, original: EncodedImage) -> EncodedImage | None:
    """A copy within the API's limits, shrinking only as much as needed so text stays legible."""
    if len(original.data) < API_MAX_BYTES and max(original.width, original.height) <= API_MAX_SIDE:
        return None
    candidate = _fitted(clean, API_MAX_SIDE)
    if candidate.mode != "RGB":
        candidate = candidate.convert("RGB")  # once, not at every quality tried
    quality = 88
    while True:
        encoded = _encode(candidate, png=False, quality=quality)
        if len(encoded.data) < API_MAX_BYTES:
            return encoded
        if quality > 75:
            quality -= 7
            continue
        candidate = candidate.resize((int(candidate.width * 0.85), int(candidate.height * 0.85)), Image.LANCZOS)


def _has_trailing_data(data: bytes, source_format: str) -> bool:
    """True when bytes follow the image's own end marker (the mark of a polyglot file)."""
    if source_format == "PNG":
        return _png_end(data) != len(data)
    if source_format == "JPEG":
        return not data.rstrip(b"\x00").endswith(b"\xff\xd9")
    if source_format == "GIF":
        return not data.endswith(b"\x3b")
    if source_format == "WEBP":
        declared = struct.unpack("<I", data[4:8])[0] + 8
        return declared + (declared % 2) < len(data)
    return True


def _png_end(data: bytes) -> int:
    """Offset just past the IEND chunk, walking the chunk list from the signature."""
    offset = 8
    while offset + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        offset += 12 + length
        if kind == b"IEND":
            return offset
    return -1
