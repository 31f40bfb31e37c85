"""Contract: non-streamed chat, async (OpenAI SDK) and sync (zhipuai SDK), and CogView images."""
from __future__ import annotations

import asyncio

import pytest

from glm.errors import GLMBalanceExhausted, GLMContentBlocked, GLMPromptTooLong, GLMRateLimited
from glm.events import ToolCall, Usage
from glm.results import ChatResult, ImageResult
from tests.gateway.conftest import TEST_API_KEY
from tests.gateway.sample_server import Canned
from tests.gateway.test_errors import ERROR_TABLE

HELLO = [{"role": "user", "content": "土豆是什么？"}]
REQUEST_ID = "20251103162614ab25f9b375f8437a"
EXPECTED = ChatResult(
    text="土豆是一种块茎。", reasoning="", tool_calls=[], finish_reason="stop",
    usage=Usage(81, 186, 6), request_id=REQUEST_ID, model="glm-4.6",
)


async def test_async_complete_chat_reads_the_documented_response(sample_server, contract_client):
    sample_server.queue(Canned.sample("chat_completion.json"))

    result = await contract_client.complete_chat(model="glm-4.6", messages=HELLO)

    assert result == EXPECTED
    assert "stream" not in sample_server.received[0].body or sample_server.received[0].body["stream"] is False


async def test_async_complete_chat_retries_a_busy_model(sample_server, contract_client):
    sample_server.queue(Canned.error(429, "1305"), Canned.sample("chat_completion.json"))

    assert await contract_client.complete_chat(model="glm-4.6", messages=HELLO) == EXPECTED
    assert len(sample_server.received) == 2


async def test_async_complete_chat_with_sensitive_finish_raises_with_usage(sample_server, contract_client):
    sample_server.queue(Canned.sample("chat_completion_sensitive.json"))

    with pytest.raises(GLMContentBlocked) as raised:
        await contract_client.complete_chat(model="glm-4.6", messages=HELLO)

    assert raised.value.usage == Usage(81, 0)


async def test_async_complete_chat_reads_tool_calls(sample_server, contract_client):
    sample_server.queue(Canned.sample("chat_completion_tool_call.json"))

    result = await contract_client.complete_chat(model="glm-4.6", messages=HELLO)

    assert result.tool_calls == [ToolCall("call_20251103162614ab25f9b3", "get_weather", '{"city": "北京"}')]
    assert result.reasoning == "需要查询天气。" and result.finish_reason == "tool_calls"


async def test_sync_chat_reads_the_documented_response(sample_server, contract_sync_client):
    sample_server.queue(Canned.sample("chat_completion.json"))

    result = await asyncio.to_thread(contract_sync_client.chat, model="glm-4.6", messages=HELLO, user_id="user-000042")

    assert result == EXPECTED
    [request] = sample_server.received
    assert request.headers["Authorization"] == f"Bearer {TEST_API_KEY}"
    assert request.body["user_id"] == "user-000042"


async def test_sync_chat_leaves_the_callers_messages_untouched(sample_server, contract_sync_client):
    sample_server.queue(Canned.sample("chat_completion.json"))
    photo = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}]
    original = repr(photo)

    await asyncio.to_thread(contract_sync_client.chat, model="glm-4v-plus", messages=photo)

    assert repr(photo) == original


@pytest.mark.parametrize(
    ("status", "code", "error_class", "retryable"), ERROR_TABLE, ids=[row[1] for row in ERROR_TABLE]
)
async def test_sync_chat_maps_every_error_body(sample_server, contract_sync_client, status, code, error_class, retryable):
    sample_server.queue(Canned.error(status, code), Canned.sample("chat_completion.json"))

    call = asyncio.to_thread(contract_sync_client.chat, model="glm-4.6", messages=HELLO)
    if retryable:
        assert await call == EXPECTED
        assert len(sample_server.received) == 2
    else:
        with pytest.raises(error_class) as raised:
            await call
        assert raised.value.code == code and raised.value.http_status == status
        assert len(sample_server.received) == 1


async def test_sync_chat_gives_up_after_max_attempts_retries(sample_server, contract_sync_client):
    sample_server.queue(*[Canned.error(429, "1302")] * 4)

    with pytest.raises(GLMRateLimited):
        await asyncio.to_thread(contract_sync_client.chat, model="glm-4.6", messages=HELLO)

    assert len(sample_server.received) == 4


async def test_sync_generate_image_returns_the_url(sample_server, contract_sync_client):
    sample_server.queue(Canned.sample("image_generation.json"))

    result = await asyncio.to_thread(
        contract_sync_client.generate_image, model="cogview-4-250304", prompt="一只猫", size="768x1344", quality="hd"
    )

    assert result == ImageResult(url="http://127.0.0.1/files/20251103162640a1b2c3d4e5f6a7b8_0.png", created=1762158400)
    [request] = sample_server.received
    assert request.path == "/api/paas/v4/images/generations"
    assert request.body == {"model": "cogview-4-250304", "prompt": "一只猫", "size": "768x1344", "quality": "hd"}


async def test_sync_generate_image_maps_errors(sample_server, contract_sync_client):
    sample_server.queue(Canned.error(429, "1113"))

    with pytest.raises(GLMBalanceExhausted):
        await asyncio.to_thread(contract_sync_client.generate_image, model="cogview-4", prompt="一只猫")


async def test_sync_prompt_too_long_is_not_retried(sample_server, contract_sync_client):
    sample_server.queue(Canned.error(400, "1261"), Canned.sample("chat_completion.json"))

    with pytest.raises(GLMPromptTooLong):
        await asyncio.to_thread(contract_sync_client.chat, model="glm-4.6", messages=HELLO)
