"""Turns uploaded bytes into a clean photo, or refuses them.

Nothing about an upload is trusted: not its name, not its content type. The bytes must be one
of a few formats and decode completely, within byte and pixel limits checked from the header
before any pixel is decoded, with nothing appended after the image. What is kept is re-encoded
from the pixels (orientation applied, every piece of metadata gone), plus a thumbnail and, when
the photo is larger than the GLM API accepts, a smaller copy for the model.

Pillow reads every header and enforces the limits. A PNG stays a lossless PNG: its stored copy
is written by libpng (through imagecodecs) on a second thread while this one makes the
thumbnail, and the usual PNG, 8-bit RGB or RGBA and upright, is decoded by libpng too, straight
into the array that copy is written from. Pillow decodes everything else; a PNG it decodes is
copied into such an array. A PNG's thumbnail and model's copy are made from the array too, never
from a full-size Pillow image of it (4 bytes a pixel against the array's 3).
"""
from __future__ import annotations

import io
import logging
import os
import struct
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

if TYPE_CHECKING:
    import numpy

log = logging.getLogger(__name__)

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
ORIGINAL_PNG_FILTER = "UP"  # a name in imagecodecs.PNG.FILTER, which is imported on the first PNG
# zlib's run-length strategy suits photo-like pixels: it writes that 20-megapixel PNG as 15.3 MB
# in 0.43 s, against 18.8 MB in 0.52 s. Text and interface screenshots have repeats it does not
# look for, and come out up to three times larger. The upload's own size tells them apart:
# screenshots measured 0.04-0.24 bytes a pixel as uploaded, photo-like PNGs 0.8-2.
PHOTO_LIKE_BYTES_PER_PIXEL = 0.5
# Resizing first shrinks by whole factors (box averages) while the result stays at least this
# many times the final size, then resamples with Lanczos: no full-size intermediate copy.
REDUCING_GAP = 3.0
# Rows of a PNG's pixels moved between a numpy array and a Pillow image at a time: about 5.6 MB
# for a 5472-pixel-wide photo, where the whole image would be 80 MB (Pillow keeps 4 bytes a
# pixel).
BAND_ROWS = 256
# IHDR colour types that libpng decodes to 8-bit RGB or RGBA as they are.
PNG_TRUECOLOUR = 2
PNG_TRUECOLOUR_ALPHA = 6
# Chunks where Pillow may find an orientation (EXIF, XMP, ImageMagick's "Raw profile type exif").
PNG_METADATA_CHUNKS = (b"eXIf", b"tEXt", b"zTXt", b"iTXt")
# What the GLM vision API takes (glm-api.md): under 5 MB, at most 6000×6000, JPEG or PNG.
API_MAX_BYTES = 5 * 1024 * 1024
API_MAX_SIDE = 6000
# JPEG qualities tried in turn for the model's copy; below the last the copy is shrunk instead.
MODEL_COPY_QUALITIES = (88, 81, 74)
MODEL_COPY_SHRINK = 0.85


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
    photo_like = len(data) >= PHOTO_LIKE_BYTES_PER_PIXEL * width * height
    if _is_plain_png(image, data):
        image.close()
        return _clean_plain_png(data, photo_like)
    return _clean_with_pillow(image, data, photo_like)


def _imagecodecs():
    """imagecodecs (libpng, libjpeg-turbo), imported on the first PNG rather than with this
    module, because it brings numpy (see _numpy)."""
    _numpy()
    import imagecodecs

    return imagecodecs


def _numpy():
    """numpy, imported on the first PNG: about 20 MB in every process that imports it, which
    JPEG, WebP and GIF uploads never use. The first PNG a process accepts pays for the import
    (about 0.07 s)."""
    # numpy's OpenBLAS starts a thread per core when imported, half of the import's time (0.13 s
    # with them); nothing here does linear algebra. An operator's own setting still wins.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    import numpy

    return numpy


def _clean_plain_png(data: bytes, photo_like: bool) -> CleanPhoto:
    pixels = _decode_plain_png(data)
    _refuse_trailing_data(data, "PNG")
    return _png_photo(pixels, photo_like)


def _clean_with_pillow(image: Image.Image, data: bytes, photo_like: bool) -> CleanPhoto:
    source_format = image.format
    _decode_with_pillow(image)
    _refuse_trailing_data(data, source_format)
    _turn_upright(image)
    if source_format in ("PNG", "GIF") or _has_transparency(image):
        return _png_photo(_array_of(_in_png_mode(image)), photo_like)
    clean = _pixels_without_metadata(image)
    original = _encode(clean, png=False)
    return CleanPhoto(
        original=original,
        thumbnail=_thumbnail(clean),
        for_model=_fit_for_model(clean, original),
    )


def _turn_upright(image: Image.Image) -> None:
    """Apply the photo's EXIF orientation in place.

    Pillow turns the pixels, then writes the EXIF back without the orientation; a damaged EXIF
    block (a text where a number belongs, say) can fail that second step with struct.error,
    TypeError or ValueError. The pixels decoded in full, and the EXIF is dropped anyway, so such
    a photo is kept as far as it was turned rather than refused.
    """
    try:
        ImageOps.exif_transpose(image, in_place=True)
    except Exception:
        log.info("photo kept with unreadable EXIF metadata", exc_info=True)


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
    codecs = _imagecodecs()
    try:
        return codecs.png_decode(data)
    # ValueError too: imagecodecs can fail to turn libpng's message into text.
    except (codecs.PngError, ValueError):
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


def _pixels_without_metadata(image: Image.Image) -> Image.Image:
    """A fresh RGB image holding only pixels: no EXIF, GPS, ICC, comments or text chunks travel
    on.

    The decoded image is closed once its pixels are copied, so a big photo exists at most
    twice at any moment (a 24-megapixel photo is 96 MB per copy in Pillow's 4-byte pixels).
    Everything encoded afterwards is this image or made from it by resizing, which carries
    no metadata either.
    """
    source = _in_mode(image, "RGB")
    clean = Image.new("RGB", source.size)
    clean.paste(source)
    source.close()
    return clean


def _in_png_mode(image: Image.Image) -> Image.Image:
    """The decoded image as RGBA when it has any transparency, else RGB."""
    return _in_mode(image, "RGBA" if _has_transparency(image) else "RGB")


def _in_mode(image: Image.Image, mode: str) -> Image.Image:
    """The image itself when it is in that mode, else a converted copy (and the image closed)."""
    if image.mode == mode:
        return image
    converted = image.convert(mode)
    image.close()
    return converted


def _array_of(image: Image.Image) -> numpy.ndarray:
    """A fresh array holding only the pixels of an RGB or RGBA image (height×width×3 or ×4), so
    no metadata travels on; the image is closed.

    Copied a band of rows at a time: numpy.asarray would go through Pillow's tobytes, which
    holds the pixels twice more (its pieces and their join) beside the image itself.
    """
    numpy = _numpy()
    width, height = image.size
    pixels = numpy.empty((height, width, len(image.mode)), dtype=numpy.uint8)
    for top in range(0, height, BAND_ROWS):
        bottom = min(height, top + BAND_ROWS)
        pixels[top:bottom] = numpy.asarray(image.crop((0, top, width, bottom)))
    image.close()
    return pixels


def _png_photo(pixels: numpy.ndarray, photo_like: bool) -> CleanPhoto:
    """The stored PNG, thumbnail and model's copy of clean pixels (a height×width×3 or ×4 array
    from libpng or _array_of, which carries no metadata).

    Writing the stored PNG is most of the work, and libpng does it without holding the GIL, so
    it runs on a second thread while this one makes the thumbnail (both only read the pixels).
    Whether the model needs its own copy depends on the stored file's size, so that copy waits.
    """
    with ThreadPoolExecutor(max_workers=1) as writer:
        pending_original = writer.submit(_encode_original_png, pixels, photo_like)
        thumbnail = _thumbnail_of_array(pixels)
        original = pending_original.result()
    return CleanPhoto(original=original, thumbnail=thumbnail, for_model=_fit_array_for_model(pixels, original))


def _encode_original_png(pixels: numpy.ndarray, photo_like: bool) -> EncodedImage:
    """Lossless: the file decodes to exactly these pixels. libpng writes only the image header
    and data chunks, so nothing but pixels is stored. zlib's run-length strategy for photo-like
    pixels, its default for the rest."""
    codecs = _imagecodecs()
    strategy = codecs.PNG.STRATEGY.RLE if photo_like else codecs.PNG.STRATEGY.DEFAULT
    data = codecs.png_encode(
        pixels, level=ORIGINAL_PNG_LEVEL, strategy=strategy, filter=codecs.PNG.FILTER[ORIGINAL_PNG_FILTER]
    )
    height, width = pixels.shape[:2]
    return EncodedImage(data, "image/png", width, height)


def _encode(clean: Image.Image, *, png: bool, quality: int = 90) -> EncodedImage:
    """Encodes an image made by _pixels_without_metadata or from a clean array (or resized from
    one), so no metadata is written."""
    buffer = io.BytesIO()
    if png:
        clean.save(buffer, format="PNG", optimize=False, compress_level=6)
        content_type = "image/png"
    else:
        rgb = clean if clean.mode == "RGB" else clean.convert("RGB")
        rgb.save(buffer, format="JPEG", quality=quality, optimize=False)
        content_type = "image/jpeg"
    return EncodedImage(buffer.getvalue(), content_type, clean.width, clean.height)


def _fitted_size(size: tuple[int, int], side: int) -> tuple[int, int] | None:
    """The size that fits a side×side square, or None when this one already does."""
    width, height = size
    scale = side / max(width, height)
    if scale >= 1:
        return None
    return (max(1, round(width * scale)), max(1, round(height * scale)))


def _fitted(image: Image.Image, side: int) -> Image.Image:
    """The image scaled down to fit a side×side square (itself if it already fits). Resizing
    with a reducing gap first shrinks by whole factors, so no full-size copy is made."""
    size = _fitted_size(image.size, side)
    if size is None:
        return image
    return image.resize(size, Image.LANCZOS, reducing_gap=REDUCING_GAP)


def _thumbnail(clean: Image.Image) -> EncodedImage:
    """A JPEG thumbnail, for photos stored as JPEG (a PNG's is made by _thumbnail_of_array)."""
    return _encode(_fitted(clean, THUMBNAIL_SIDE), png=False, quality=82)


def _thumbnail_of_array(pixels: numpy.ndarray) -> EncodedImage:
    """A PNG thumbnail of these pixels: pixel for pixel what _fitted makes of a Pillow image of
    them, without making that full-size image."""
    height, width = pixels.shape[:2]
    size = _fitted_size((width, height), THUMBNAIL_SIDE)
    small = Image.fromarray(pixels) if size is None else _resized_array(pixels, size)
    return _encode(small, png=True)


def _resized_array(pixels: numpy.ndarray, size: tuple[int, int]) -> Image.Image:
    """What Pillow's resize with the reducing gap makes of an image of these pixels, done as
    Pillow does it (reduce by whole factors, then Lanczos over the exact remaining box), except
    that the reduction is made a band of rows at a time."""
    height, width = pixels.shape[:2]
    factor_x = int(width / size[0] / REDUCING_GAP) or 1
    factor_y = int(height / size[1] / REDUCING_GAP) or 1
    reduced = _reduced_by_bands(pixels, (factor_x, factor_y))
    resized = reduced.resize(size, Image.LANCZOS, box=(0, 0, width / factor_x, height / factor_y))
    return resized.convert("RGBA") if resized.mode == "RGBa" else resized


def _reduced_by_bands(pixels: numpy.ndarray, factor: tuple[int, int]) -> Image.Image:
    """Image.reduce of an image of these pixels: each pixel the average of a factor-sized block.

    Each band is a whole number of blocks high, so it averages exactly the rows the whole image
    would. RGBA is premultiplied first (mode RGBa), as Pillow's resize does, so that the colour
    of transparent pixels does not bleed into the thumbnail.
    """
    height, width = pixels.shape[:2]
    factor_x, factor_y = factor
    mode = "RGBa" if pixels.shape[2] == 4 else "RGB"
    reduced = Image.new(mode, (-(-width // factor_x), -(-height // factor_y)))
    band_rows = max(1, BAND_ROWS // factor_y) * factor_y
    for top in range(0, height, band_rows):
        band = Image.fromarray(pixels[top : top + band_rows])
        if band.mode != mode:
            band = band.convert(mode)
        reduced.paste(band.reduce(factor), (0, top // factor_y))
    return reduced


def _fits_api(original: EncodedImage) -> bool:
    return len(original.data) < API_MAX_BYTES and max(original.width, original.height) <= API_MAX_SIDE


def _fit_for_model(clean: Image.Image, original: EncodedImage) -> EncodedImage | None:
    """A copy within the API's limits, shrinking only as much as needed so text stays legible."""
    if _fits_api(original):
        return None
    candidate = _fitted(clean, API_MAX_SIDE)
    if candidate.mode != "RGB":
        candidate = candidate.convert("RGB")  # once, not at every quality tried
    encodings = (_encode(candidate, png=False, quality=quality) for quality in MODEL_COPY_QUALITIES)
    return _first_within_api_bytes(encodings) or _shrunk_for_model(candidate)


def _fit_array_for_model(pixels: numpy.ndarray, original: EncodedImage) -> EncodedImage | None:
    """What _fit_for_model makes of an image of these pixels.

    When no resize is needed, which is the usual case, libjpeg-turbo encodes the JPEG straight
    from the array's rows, set up as Pillow sets it up (YCbCr, 4:2:0, baseline tables, no
    optimised coding): the same bytes, without Pillow's full-size 4-bytes-a-pixel image. An
    RGBA array's alpha byte is skipped, as convert("RGB") drops it.
    """
    if _fits_api(original):
        return None
    if max(original.width, original.height) > API_MAX_SIDE:
        return _fit_for_model(Image.fromarray(pixels), original)  # Pillow resizes it whole
    encodings = (_jpeg_of_array(pixels, quality) for quality in MODEL_COPY_QUALITIES)
    return _first_within_api_bytes(encodings) or _shrunk_for_model(_rgb_image(pixels))


def _jpeg_of_array(pixels: numpy.ndarray, quality: int) -> EncodedImage:
    codecs = _imagecodecs()
    colorspace = codecs.JPEG8.CS.EXT_RGBX if pixels.shape[2] == 4 else codecs.JPEG8.CS.RGB
    data = codecs.jpeg8_encode(
        pixels, level=quality, colorspace=colorspace, outcolorspace=codecs.JPEG8.CS.YCbCr, optimize=False
    )
    height, width = pixels.shape[:2]
    return EncodedImage(data, "image/jpeg", width, height)


def _rgb_image(pixels: numpy.ndarray) -> Image.Image:
    image = Image.fromarray(pixels)
    return image if image.mode == "RGB" else image.convert("RGB")


def _first_within_api_bytes(encodings: Iterator[EncodedImage]) -> EncodedImage | None:
    return next((encoded for encoded in encodings if len(encoded.data) < API_MAX_BYTES), None)


def _shrunk_for_model(candidate: Image.Image) -> EncodedImage:
    """Still too large at the lowest quality: shrink until it fits, keeping that quality."""
    while True:
        candidate = candidate.resize(
            (int(candidate.width * MODEL_COPY_SHRINK), int(candidate.height * MODEL_COPY_SHRINK)), Image.LANCZOS
        )
        encoded = _encode(candidate, png=False, quality=MODEL_COPY_QUALITIES[-1])
        if len(encoded.data) < API_MAX_BYTES:
            return encoded


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
