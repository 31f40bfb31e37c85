"""SyncClient (zhipuai SDK) against the GLM emulator: chat, CogView images, errors."""
from __future__ import annotations

import httpx
import pytest

from glm.errors import GLMBalanceExhausted, GLMContentBlocked, GLMRateLimited, GLMTimeout
from glm.sync_client import SyncClient
from glm.tokens import count_text_tokens
from tests.gateway.conftest import fast_retry


def test_sync_chat_returns_the_reply_with_usage(sync_client, clean_emulator):
    result = sync_client.chat(model="glm-4-flash", messages=[{"role": "user", "content": "a quiet worker"}], max_tokens=200)

    assert "a quiet worker" in result.text and result.finish_reason == "stop"
    assert result.usage.completion_tokens == count_text_tokens(result.text)
    assert result.request_id and result.model == "glm-4-flash"
    [record] = clean_emulator.requests()
    assert not record["stream"]


def test_sync_chat_retries_a_concurrency_limit(sync_client, clean_emulator):
    result = sync_client.chat(model="glm-4-flash", messages=[{"role": "user", "content": "[[glm-error:1302#2]] again"}])

    assert "again" in result.text
    assert [record["status"] for record in clean_emulator.requests()] == [429, 429, 200]


def test_sync_chat_does_not_retry_an_empty_balance(sync_client, clean_emulator):
    with pytest.raises(GLMBalanceExhausted):
        sync_client.chat(model="glm-4-flash", messages=[{"role": "user", "content": "[[glm-error:1113]]"}])

    assert len(clean_emulator.requests()) == 1


def test_sync_chat_gives_up_on_a_persistent_limit_after_the_policy_retries(sync_client, clean_emulator):
    with pytest.raises(GLMRateLimited):
        sync_client.chat(model="glm-4-flash", messages=[{"role": "user", "content": "[[glm-error:1302]]"}])

    assert len(clean_emulator.requests()) == 4


def test_sync_chat_times_out_on_a_hanging_server(clean_emulator):
    client = SyncClient(api_key=clean_emulator.api_key, base_url=clean_emulator.base_url, read_timeout=0.3, retry=fast_retry(max_attempts=0))

    with pytest.raises(GLMTimeout):
        client.chat(model="glm-4-flash", messages=[{"role": "user", "content": "[[glm-hang]]"}])
    client.close()


def test_generate_image_returns_a_url_that_serves_a_png(sync_client, clean_emulator):
    image = sync_client.generate_image(model="cogview-4", prompt="a red apple on a white table")

    download = httpx.get(image.url, timeout=10)
    assert download.status_code == 200
    assert download.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert image.created > 0
    [record] = clean_emulator.requests()
    assert record["path"].endswith("/images/generations") and record["model"] == "cogview-4"


def test_generate_image_passes_size_and_quality(sync_client):
    image = sync_client.generate_image(model="cogview-4-250304", prompt="a lighthouse", size="768x1344", quality="hd")

    assert image.url.startswith("http://127.0.0.1")


def test_generate_image_maps_a_blocked_prompt(sync_client):
    with pytest.raises(GLMContentBlocked):
        sync_client.generate_image(model="cogview-4", prompt="[[glm-error:1301]] a cat")
