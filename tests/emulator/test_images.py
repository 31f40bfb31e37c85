"""CogView stand-in: a real PNG of the requested size at a URL that expires."""
from __future__ import annotations

import io
import time

import httpx
import pytest
import zhipuai
from PIL import Image

from glm.emulator.testing import RunningEmulator

from .pictures import vision_message


def _download(url: str) -> Image.Image:
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    return Image.open(io.BytesIO(response.content))


def test_cogview4_returns_a_downloadable_png_of_the_requested_size(zhipu, emulator):
    response = zhipu.images.generations(model="cogview-4", prompt="一只在水墨画风格的山间行走的猫", size="768x1344")
    assert isinstance(response.created, int)
    assert len(response.data) == 1
    url = response.data[0].url
    assert url.startswith(f"{emulator.root_url}/files/") and url.endswith("_0.png")
    picture = _download(url)
    assert (picture.format, picture.size) == ("PNG", (768, 1344))


def test_raw_response_has_content_filter_and_default_size(http):
    body = http.post("/images/generations", json={"model": "cogview-3-flash", "prompt": "a lighthouse"}).json()
    assert body["content_filter"] == [{"role": "assistant", "level": 3}]
    assert _download(body["data"][0]["url"]).size == (1024, 1024)


def test_custom_size_within_the_rules_is_rendered_exactly(http):
    body = {"model": "cogview-4-250304", "prompt": "dunes", "size": "512x2048", "quality": "hd"}
    url = http.post("/images/generations", json=body).json()["data"][0]["url"]
    assert _download(url).size == (512, 2048)


def test_same_prompt_renders_the_same_picture(http):
    body = {"model": "cogview-4", "prompt": "same every time", "size": "512x512"}
    first = httpx.get(http.post("/images/generations", json=body).json()["data"][0]["url"]).content
    second = httpx.get(http.post("/images/generations", json=body).json()["data"][0]["url"]).content
    assert first == second


def test_colour_named_in_the_prompt_is_the_colour_the_vision_model_sees(http, zhipu):
    body = {"model": "cogview-4", "prompt": "一片绿色的草地", "size": "512x512"}
    url = http.post("/images/generations", json=body).json()["data"][0]["url"]
    import base64

    encoded = base64.b64encode(httpx.get(url).content).decode()
    content = zhipu.chat.completions.create(
        model="glm-4v-plus", messages=[vision_message("what colour?", encoded)]
    ).choices[0].message.content
    assert "512×512 pixels, mostly green." in content


@pytest.mark.parametrize(
    "size", ["1000x1000", "256x256", "2048x2048", "4096x512", "big", "1024", "1024x1024x2", "2064x1024"]
)
def test_sizes_outside_the_rules_are_400_with_code_1214(http, size):
    response = http.post("/images/generations", json={"model": "cogview-4", "prompt": "x", "size": size})
    assert (response.status_code, response.json()["error"]["code"]) == (400, "1214")


def test_unknown_image_model_is_400_with_code_1211(zhipu):
    with pytest.raises(zhipuai.APIRequestFailedError) as raised:
        zhipu.images.generations(model="dall-e-3", prompt="x")
    assert raised.value.response.json()["error"]["code"] == "1211"


def test_missing_prompt_and_bad_quality_are_refused(http):
    assert http.post("/images/generations", json={"model": "cogview-4"}).json()["error"]["code"] == "1213"
    response = http.post("/images/generations", json={"model": "cogview-4", "prompt": "x", "quality": "ultra"})
    assert (response.status_code, response.json()["error"]["code"]) == (400, "1214")


def test_unknown_file_is_404(emulator):
    assert httpx.get(f"{emulator.root_url}/files/nothing_0.png").status_code == 404


def test_image_url_expires_after_the_ttl():
    with RunningEmulator(extra_args=["--image-ttl", "0.5"]) as short_lived:
        client = zhipuai.ZhipuAI(api_key=short_lived.api_key, base_url=short_lived.base_url, max_retries=0)
        url = client.images.generations(model="cogview-4", prompt="fleeting", size="512x512").data[0].url
        assert httpx.get(url).status_code == 200
        time.sleep(0.7)
        assert httpx.get(url).status_code == 404


def test_openai_sdk_generates_images_too(openai_client):
    response = openai_client.images.generate(model="cogview-4", prompt="a blue boat", size="1152x864")
    picture = _download(response.data[0].url)
    assert picture.size == (1152, 864)
