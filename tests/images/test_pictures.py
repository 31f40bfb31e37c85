"""Only real PNG or JPEG pictures of the size asked for are kept; thumbnails are small JPEGs."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from images.pictures import PictureRejected, check_picture, make_thumbnail


def _encoded(picture_format: str, size=(64, 48), mode="RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, "red" if mode != "RGBA" else (255, 0, 0, 128)).save(out, format=picture_format)
    return out.getvalue()


@pytest.mark.parametrize("picture_format, content_type", [("PNG", "image/png"), ("JPEG", "image/jpeg")])
def test_png_and_jpeg_of_the_expected_size_are_accepted(picture_format, content_type):
    picture = check_picture(_encoded(picture_format), expected_size=(64, 48))
    assert (picture.format, picture.content_type, picture.width, picture.height) == (picture_format, content_type, 64, 48)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(_encoded("GIF"), id="gif"),
        pytest.param(_encoded("WEBP"), id="webp"),
        pytest.param(b"<html>not a picture</html>", id="html"),
        pytest.param(_encoded("PNG")[:-40], id="truncated png"),
        pytest.param(b"", id="empty"),
    ],
)
def test_anything_else_is_not_an_image(data):
    with pytest.raises(PictureRejected) as rejected:
        check_picture(data, expected_size=(64, 48))
    assert rejected.value.reason == "not_an_image"


def test_a_picture_of_another_size_is_rejected():
    with pytest.raises(PictureRejected) as rejected:
        check_picture(_encoded("PNG", size=(48, 64)), expected_size=(64, 48))
    assert rejected.value.reason == "wrong_size"


def test_a_huge_header_is_rejected_before_decoding():
    with pytest.raises(PictureRejected) as rejected:
        check_picture(_encoded("PNG", size=(4096, 2048), mode="L"), expected_size=(4096, 2048))
    assert rejected.value.reason == "wrong_size"


def test_thumbnail_is_a_jpeg_no_larger_than_asked_even_from_a_transparent_png():
    picture = check_picture(_encoded("PNG", size=(1344, 768), mode="RGBA"), expected_size=(1344, 768))
    thumbnail = Image.open(io.BytesIO(make_thumbnail(picture, longest_side=256)))
    assert thumbnail.format == "JPEG" and thumbnail.size == (256, 146)
    # Transparency is laid on white: half-transparent red becomes light red, not dark red.
    red, green, blue = thumbnail.getpixel((10, 10))
    assert red > 240 and 100 < green < 160
