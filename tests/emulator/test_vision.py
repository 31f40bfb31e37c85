"""Vision models: the reply states what the emulator measured in each image, nothing invented."""
from __future__ import annotations

import pytest

from glm.tokens import IMAGE_PART_TOKENS, count_prompt_tokens

from .pictures import base64_image, data_url, image_bytes, vision_message

RED, BLUE = (255, 0, 0), (0, 0, 255)


def test_base64_red_png_is_described_by_size_and_colour_via_zhipuai(zhipu):
    # zhipuai strips the data: prefix itself, so the wire carries bare base64.
    message = vision_message("What is this?", data_url(RED, (64, 48)))
    response = zhipu.chat.completions.create(model="glm-4v-plus", messages=[message])
    content = response.choices[0].message.content
    assert "«What is this?»" in content
    assert "Image 1: 64×48 pixels, mostly red." in content


def test_blue_jpeg_with_data_prefix_is_described_via_openai(openai_client):
    message = vision_message("describe", data_url(BLUE, (120, 90), "JPEG"))
    response = openai_client.chat.completions.create(model="glm-4v-plus", messages=[message])
    assert "Image 1: 120×90 pixels, mostly blue." in response.choices[0].message.content


def test_bare_base64_without_prefix_is_accepted(openai_client):
    message = vision_message("describe", base64_image(BLUE, (32, 32), "JPEG"))
    response = openai_client.chat.completions.create(model="glm-4v-plus", messages=[message])
    assert "Image 1: 32×32 pixels, mostly blue." in response.choices[0].message.content


def test_several_images_are_numbered_in_order(zhipu):
    message = vision_message("two", base64_image(RED, (10, 20)), base64_image(BLUE, (30, 40), "JPEG"))
    content = zhipu.chat.completions.create(model="glm-4v-plus", messages=[message]).choices[0].message.content
    assert "Image 1: 10×20 pixels, mostly red. Image 2: 30×40 pixels, mostly blue." in content


def test_image_parts_count_a_flat_amount_in_the_prompt(zhipu):
    message = vision_message("tokens", base64_image(RED, (8, 8)))
    response = zhipu.chat.completions.create(model="glm-4v-plus", messages=[message])
    assert response.usage.prompt_tokens == count_prompt_tokens([message])
    assert response.usage.prompt_tokens >= IMAGE_PART_TOKENS


def test_http_image_is_honestly_reported_as_not_fetched(openai_client):
    url = "https://example.com/photo.jpg"
    message = vision_message("详细描述这张图片", url)
    for model in ("glm-4v-plus", "glm-4v-flash"):
        content = openai_client.chat.completions.create(model=model, messages=[message]).choices[0].message.content
        assert f"Image 1: could not fetch {url}" in content
        assert "pixels" not in content


def test_only_the_newest_message_images_are_described(zhipu):
    earlier = vision_message("first", base64_image(RED, (5, 5)))
    newest = vision_message("second", base64_image(BLUE, (6, 6)))
    messages = [earlier, {"role": "assistant", "content": "ok"}, newest]
    content = zhipu.chat.completions.create(model="glm-4v-plus", messages=messages).choices[0].message.content
    assert "Image 1: 6×6 pixels, mostly blue." in content
    assert "red" not in content


def _error_code(http, model: str, *urls: str) -> tuple[int, str, str]:
    body = {"model": model, "messages": [vision_message("x", *urls)]}
    response = http.post("/chat/completions", json=body)
    error = response.json().get("error", {})
    return response.status_code, error.get("code"), error.get("message")


def test_glm4v_flash_refuses_base64_images(http):
    status, code, message = _error_code(http, "glm-4v-flash", base64_image(RED, (8, 8)))
    assert (status, code) == (400, "1214")
    assert "base64" in message


def test_glm4v_flash_takes_one_image_and_plus_takes_five(http):
    url = "https://example.com/a.png"
    assert _error_code(http, "glm-4v-flash", url, url)[:2] == (400, "1214")
    assert _error_code(http, "glm-4v-plus", *[url] * 5)[0] == 200
    assert _error_code(http, "glm-4v-plus", *[url] * 6)[:2] == (400, "1214")


@pytest.mark.parametrize(
    "url, words",
    [
        (base64_image(RED, (8, 8), "GIF"), "jpg"),
        ("bm90IGFuIGltYWdl", "jpg"),
        ("%%%not base64%%%", "base64"),
        (base64_image(RED, (6001, 1)), "6000"),
    ],
    ids=["gif", "not-an-image", "bad-base64", "too-wide"],
)
def test_unacceptable_images_are_400_with_code_1214(http, url, words):
    status, code, message = _error_code(http, "glm-4v-plus", url)
    assert (status, code) == (400, "1214")
    assert words in message


def test_image_of_five_megabytes_or_more_is_refused(http):
    import base64

    too_big = image_bytes(RED, (8, 8)) + b"\0" * (5 * 1024 * 1024)
    status, code, message = _error_code(http, "glm-4v-plus", base64.b64encode(too_big).decode())
    assert (status, code) == (400, "1214")
    assert "5MB" in message
