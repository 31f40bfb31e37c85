"""Small images made with Pillow for vision tests, as bytes and base64."""
from __future__ import annotations

import base64
import io

from PIL import Image


def image_bytes(colour: tuple[int, int, int], size: tuple[int, int], image_format: str = "PNG") -> bytes:
    output = io.BytesIO()
    Image.new("RGB", size, colour).save(output, format=image_format)
    return output.getvalue()


def base64_image(colour: tuple[int, int, int], size: tuple[int, int], image_format: str = "PNG") -> str:
    return base64.b64encode(image_bytes(colour, size, image_format)).decode()


def data_url(colour: tuple[int, int, int], size: tuple[int, int], image_format: str = "PNG") -> str:
    mime = "image/jpeg" if image_format == "JPEG" else "image/png"
    return f"data:{mime};base64,{base64_image(colour, size, image_format)}"


def vision_message(text: str, *urls: str) -> dict:
    parts: list[dict] = [{"type": "image_url", "image_url": {"url": url}} for url in urls]
    parts.append({"type": "text", "text": text})
    return {"role": "user", "content": parts}
