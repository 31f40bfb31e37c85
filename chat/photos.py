"""Turns uploaded bytes into a clean photo, or refuses them.

Nothing about an upload is trusted: not its name, not its content type. The bytes must be one
of a few formats and decode completely, within byte and pixel limits checked from the header
before any pixel is decoded, with nothing appended after the image. What is kept is re-encoded
from the pixels (orientation applied, every piece of metadata gone), plus a thumbnail and, when
the photo is larger than the GLM API accepts, a smaller copy for the model.

Pillow reads every header and enforces the limits. A PNG stays a lossless PNG: its stored copy
is written by libpng (through imagecodecs) on a second thread while this one makes the
thumbnail, and the usual PNG, 8-bit RGB or RGBA and upright, is decoded by libpng too, straight
into the array that copy is written from. Pillow decodes everything else.
"""
from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import imagecodecs
from django.utils.translation import gettext_lazy as _
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

if TYPE_CHECKING:
    import numpy

# Formats accepted from the browser; GIF is converted (first frame), the rest re-encoded as is.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
THUMBNAIL_SIDE = 320
# The stored original of a PNG upload is compressed fast rather than small, by libpng with one
# fixed row filter. Pillow's writer tries four filters on every row and has no setting to skip
# that: for a 20-megapixel photo-like PNG it took 0.9 s of CPU even at level 0 and 1.4 s at
# level 1 (7-10 s at level 6); libpng with "Up" at level 1 takes 0.5 s for a file of the same
# size, and screenshots come out at most a tenth larger than at Pillow's level 1
# (bench/photos.py, docs/benchmarks.md). Thumbnails are small and keep Pillow's level 6.
ORIGINAL_PNG_LEVEL = 1
ORIGINAL_PNG_FILTER = imagecodecs.PNG.FILTER.UP
# zlib's run-length strategy suits photo-like pixels: it writes that 20-megapixel PNG as 15.3 MB
# in 0.43 s, against 18.8 MB in 0.52 s. Text and interface screenshots have repeats it does not
# look for, and come out up to three times larger. The upload's own size tells them apart:
# screenshots measured 0.04-0.24 bytes a pixel as uploaded, photo-like PNGs 0.8-2.
PHOTO_LIKE_BYTES_PER_PIXEL = 0.5
# IHDR colour types that libpng decodes to 8-bit RGB or RGBA as they are.
PNG_TRUECOLOUR = 2
PNG_TRUECOLOUR_ALPHA = 6
# Chunks where Pillow may find an orientation (EXIF, XMP, ImageMagick's "Raw profile type exif").
PNG_METADATA_CHUNKS = (b"eXIf", b"tEXt", b"zTXt", b"iTXt")
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
    png_strategy = _original_png_strategy(len(data), width * height)
    if _is_plain_png(image, data):
        image.close()
        return _clean_plain_png(data, png_strategy)
    return _clean_with_pillow(image, data, png_strategy)


def _original_png_strategy(upload_bytes: int, pixel_count: int) -> int:
    """The zlib strategy for a stored PNG: run-length for photo-like pixels, else the default."""
    if upload_bytes >= PHOTO_LIKE_BYTES_PER_PIXEL * pixel_count:
        return imagecodecs.PNG.STRATEGY.RLE
    return imagecodecs.PNG.STRATEGY.DEFAULT


def _clean_plain_png(data: bytes, png_strategy: int) -> CleanPhoto:
    pixels = _decode_plain_png(data)
    _refuse_trailing_data(data, "PNG")
    height, width = pixels.shape[:2]
    return _png_photo(pixels, (width, height), png_strategy)


def _clean_with_pillow(image: Image.Image, data: bytes, png_strategy: int) -> CleanPhoto:
    source_format = image.format
    _decode_with_pillow(image)
    _refuse_trailing_data(data, source_format)
    ImageOps.exif_transpose(image, in_place=True)
    keep_png = source_format in ("PNG", "GIF") or _has_transparency(image)
    clean = _pixels_without_metadata(image, png=keep_png)
    if keep_png:
        return _png_photo(clean, clean.size, png_strategy)
    original = _encode(clean, png=False)
    return CleanPhoto(
        original=original,
        thumbnail=_thumbnail(clean, png=False),
        for_model=_fit_for_model(clean, original),
    )


def _is_plain_png(image: Image.Image, data: bytes) -> bool:
    """True for the usual PNG: one frame of 8-bit RGB or RGBA, not interlaced, without colour-key
    transparency (tRNS) and upright. libpng decodes it into exactly the pixels Pillow would,
    without the conversions the other kinds need (those go to Pillow)."""
    if image.format != "PNG" or getattr(image, "is_animated", False):
        return False
    chunks = list(_png_chunks(data))
    return (
        _has_plain_header(data, chunks, image.size)
        and not any(kind == b"tRNS" for kind, _start, _length in chunks)
        and _is_upright_png(image, chunks)
    )


def _has_plain_header(data: bytes, chunks: list[tuple[bytes, int, int]], size: tuple[int, int]) -> bool:
    """The first chunk, the header libpng reads, must be IHDR for an 8-bit RGB or RGBA image
    that is not interlaced, of the size the pixel limit was checked against."""
    if not chunks or chunks[0][0] != b"IHDR" or chunks[0][2] != 13:
        return False
    start = chunks[0][1]
    width, height, bit_depth, colour_type, _compression, _filter, interlace = struct.unpack(
        ">IIBBBBB", data[start : start + 13]
    )
    return (
        (width, height) == size
        and bit_depth == 8
        and colour_type in (PNG_TRUECOLOUR, PNG_TRUECOLOUR_ALPHA)
        and interlace == 0
    )


def _is_upright_png(image: Image.Image, chunks: list[tuple[bytes, int, int]]) -> bool:
    """True when exif_transpose would leave this PNG as it is.

    Pillow finds a PNG's orientation in its EXIF or XMP chunks. Those before the image data it
    has already read with the header, so Pillow's own rule is asked about them, on a one-pixel
    image given that metadata: the PNG's getexif would first decode every pixel, to reach
    chunks after the image data. A PNG with metadata there, or metadata that cannot be read, is
    left to Pillow, which decides as it always has.
    """
    image_data_seen = False
    for kind, _start, _length in chunks:
        image_data_seen = image_data_seen or kind == b"IDAT"
        if image_data_seen and kind in PNG_METADATA_CHUNKS:
            return False
    probe = Image.new("1", (1, 1))
    probe.info = image.info
    try:
        orientation = probe.getexif().get(ExifTags.Base.Orientation, 1)
        return not 2 <= orientation <= 8  # the only values exif_transpose acts on
    except Exception:
        return False


def _decode_plain_png(data: bytes) -> numpy.ndarray:
    """Every pixel of a plain PNG as a height×width×3 or ×4 array (libpng checks each chunk's CRC
    and fails on a truncated or corrupt stream)."""
    try:
        return imagecodecs.png_decode(data)
    # ValueError too: imagecodecs can fail to turn libpng's message into text.
    except (imagecodecs.PngError, ValueError):
        raise PhotoRefused("corrupt", _("The image is damaged or incomplete.")) from None


def _decode_with_pillow(image: Image.Image) -> None:
    try:
        image.load()  # decode every pixel: a truncated or corrupt file fails here, not later
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise PhotoRefused("corrupt", _("The image is damaged or incomplete.")) from None


def _refuse_trailing_data(data: bytes, source_format: str) -> None:
    if _has_trailing_data(data, source_format):
        raise PhotoRefused("trailing_data", _("The file has extra data after the image and was refused."))


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


def _png_photo(pixels: numpy.ndarray | Image.Image, size: tuple[int, int], png_strategy: int) -> CleanPhoto:
    """The stored PNG, thumbnail and model's copy of clean pixels: a libpng array or an image
    made by _pixels_without_metadata, neither carrying any metadata.

    Writing the stored PNG is most of the work, and libpng does it without holding the GIL, so
    it runs on a second thread while this one makes the thumbnail (both only read the pixels).
    Whether the model needs its own copy depends on the stored file's size, so that copy waits.
    """
    with ThreadPoolExecutor(max_workers=1) as writer:
        pending_original = writer.submit(_encode_original_png, pixels, size, png_strategy)
        clean = pixels if isinstance(pixels, Image.Image) else Image.fromarray(pixels)
        thumbnail = _thumbnail(clean, png=True)
        original = pending_original.result()
    return CleanPhoto(original=original, thumbnail=thumbnail, for_model=_fit_for_model(clean, original))


def _encode_original_png(
    pixels: numpy.ndarray | Image.Image, size: tuple[int, int], png_strategy: int
) -> EncodedImage:
    """Lossless: the file decodes to exactly these pixels. libpng writes only the image header
    and data chunks, so nothing but pixels is stored."""
    data = imagecodecs.png_encode(
        pixels, level=ORIGINAL_PNG_LEVEL, strategy=png_strategy, filter=ORIGINAL_PNG_FILTER
    )
    return EncodedImage(data, "image/png", *size)


def _encode(clean: Image.Image, *, png: bool, quality: int = 90) -> EncodedImage:
    """Encodes an image made by _pixels_without_metadata (or resized from one)."""
    buffer = io.BytesIO()
    if png:
        clean.save(buffer, format="PNG", optimize=False, compress_level=6)
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
    """Offset just past the IEND chunk (its payload and CRC), or -1 when there is none."""
    for kind, start, length in _png_chunks(data):
        if kind == b"IEND":
            return start + length + 4
    return -1


def _png_chunks(data: bytes) -> Iterator[tuple[bytes, int, int]]:
    """(kind, payload offset, payload length) of each chunk, walking the list from the signature
    up to IEND or the end of the data."""
    offset = 8
    while offset + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        yield kind, offset + 8, length
        if kind == b"IEND":
            return
        offset += 12 + length
