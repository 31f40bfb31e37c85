"""Contract: saved GLM responses, served over real HTTP, read by AsyncChatClient (OpenAI SDK)."""
from __future__ import annotations

import pytest

from glm.errors import (
    GLMBalanceExhausted,
    GLMContentBlocked,
    GLMRateLimited,
    GLMServerError,
    GLMStreamInterrupted,
)
from glm.events import Finish, ReasoningDelta, Retrying, TextDelta, ToolCall, Usage
from tests.gateway.conftest import TEST_API_KEY
from tests.gateway.sample_server import Canned
from tests.gateway.test_errors import ERROR_TABLE

HELLO = [{"role": "user", "content": "土豆是什么？"}]
REQUEST_ID = "20251103162614ab25f9b375f8437a"


async def collect(client, **kwargs) -> list:
    kwargs.setdefault("model", "glm-4.6")
    kwargs.setdefault("messages", HELLO)
    return [event async for event in client.stream_chat(**kwargs)]


async def collect_until_error(client, **kwargs) -> tuple[list, Exception]:
    events = []
    with pytest.raises(Exception) as raised:
        async for event in client.stream_chat(model="glm-4.6", messages=HELLO, **kwargs):
            events.append(event)
    return events, raised.value


async def test_text_stream_gives_deltas_then_one_finish_with_usage(sample_server, contract_client):
    sample_server.queue(Canned.sample("stream_text.sse"))

    events = await collect(contract_client)

    assert events == [
        TextDelta("土"), TextDelta("豆"), TextDelta("是一种"), TextDelta("块茎。"),
        Finish(reason="stop", usage=Usage(81, 4, 6), request_id=REQUEST_ID, model="glm-4.6"),
    ]


async def test_request_carries_the_key_as_bearer_and_the_glm_parameters(sample_server, contract_client):
    sample_server.queue(Canned.sample("stream_text.sse"))
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]

    await collect(contract_client, temperature=0.3, top_p=0.8, max_tokens=64, tools=tools, user_id="user-000042")

    [request] = sample_server.received
    assert request.path == "/api/paas/v4/chat/completions"
    assert request.headers["Authorization"] == f"Bearer {TEST_API_KEY}"
    assert request.body["stream"] is True
    assert request.body["model"] == "glm-4.6" and request.body["messages"] == HELLO
    assert request.body["temperature"] == 0.3 and request.body["top_p"] == 0.8 and request.body["max_tokens"] == 64
    assert request.body["tools"] == tools and request.body["user_id"] == "user-000042"


async def test_unset_options_are_not_sent(sample_server, contract_client):
    sample_server.queue(Canned.sample("stream_text.sse"))

    await collect(contract_client)

    assert set(sample_server.received[0].body) == {"model", "messages", "stream"}


async def test_reasoning_pieces_arrive_before_the_reply(sample_server, contract_client):
    sample_server.queue(Canned.sample("stream_reasoning.sse"))

    events = await collect(contract_client)

    assert events[:4] == [ReasoningDelta("用户问"), ReasoningDelta("一加一。"), TextDelta("1+1"), TextDelta("=2")]
    assert events[4].reason == "stop" and events[4].usage == Usage(12, 9)


@pytest.mark.parametrize(
    ("sample", "call"),
    [
        ("stream_tool_call_finish_on_tool_chunk.sse", ToolCall("call_-8234726317465812640", "get_weather", '{"city": "北京"}')),
        ("stream_tool_call_then_final_chunk.sse", ToolCall("call_20251103162614ab25f9b3", "get_weather", '{"city": "北京"}')),
        ("stream_tool_call_in_pieces.sse", ToolCall("call_tool_stream_1", "get_weather", '{"city": "上海"}')),
    ],
)
async def test_tool_call_streams_give_one_whole_call_then_finish(sample_server, contract_client, sample, call):
    sample_server.queue(Canned.sample(sample))

    events = await collect(contract_client)

    assert events[0] == call
    assert isinstance(events[1], Finish) and events[1].reason == "tool_calls" and events[1].usage == Usage(160, 14)
    assert len(events) == 2


async def test_finish_reason_sensitive_with_http_200_raises_content_blocked_after_the_text(sample_server, contract_client):
    sample_server.queue(Canned.sample("stream_sensitive.sse"))

    events, error = await collect_until_error(contract_client)

    assert events == [TextDelta("关于"), TextDelta("这个")]
    assert isinstance(error, GLMContentBlocked)
    assert error.usage == Usage(40, 2) and error.request_id == REQUEST_ID
    assert len(sample_server.received) == 1


async def test_finish_reason_network_error_raises_interrupted_with_usage_and_no_retry(sample_server, contract_client):
    sample_server.queue(Canned.sample("stream_network_error.sse"), Canned.sample("stream_text.sse"))

    events, error = await collect_until_error(contract_client)

    assert events == [TextDelta("第一"), TextDelta("部分"), TextDelta("内容")]
    assert isinstance(error, GLMStreamInterrupted) and error.code == "network_error"
    assert error.usage == Usage(30, 3)
    assert len(sample_server.received) == 1


async def test_in_stream_error_frame_raises_interrupted_with_its_code(sample_server, contract_client):
    sample_server.queue(Canned.sample("stream_error_frame.sse"))

    events, error = await collect_until_error(contract_client)

    assert events == [TextDelta("你"), TextDelta("好")]
    assert isinstance(error, GLMStreamInterrupted) and error.code == "1234" and error.usage is None


async def test_a_stream_that_ends_without_a_final_chunk_is_interrupted(sample_server, contract_client):
    sample_server.queue(Canned.sample("stream_without_final_chunk.sse"))

    events, error = await collect_until_error(contract_client)

    assert events == [TextDelta("半"), TextDelta("句")]
    assert isinstance(error, GLMStreamInterrupted) and error.code == "no_final_chunk" and error.usage is None


@pytest.mark.parametrize(
    ("status", "code", "error_class", "retryable"),
    [row for row in ERROR_TABLE if not row[3]],
    ids=[row[1] for row in ERROR_TABLE if not row[3]],
)
async def test_error_bodies_that_a_retry_cannot_fix_raise_at_once(sample_server, contract_client, status, code, error_class, retryable):
    sample_server.queue(Canned.error(status, code), Canned.sample("stream_text.sse"))

    events, error = await collect_until_error(contract_client)

    assert events == []
    assert type(error) is error_class and error.code == code and error.http_status == status
    assert len(sample_server.received) == 1


@pytest.mark.parametrize(
    ("status", "code", "error_class", "retryable"),
    [row for row in ERROR_TABLE if row[3]],
    ids=[row[1] for row in ERROR_TABLE if row[3]],
)
async def test_retryable_error_bodies_are_retried_and_announced(sample_server, contract_client, status, code, error_class, retryable):
    sample_server.queue(Canned.error(status, code), Canned.sample("stream_text.sse"))

    events = await collect(contract_client)

    retrying = events[0]
    assert isinstance(retrying, Retrying) and retrying.attempt == 1
    assert type(retrying.error) is error_class and retrying.error.code == code
    assert 0 <= retrying.delay <= 0.001
    assert isinstance(events[-1], Finish)
    assert len(sample_server.received) == 2


async def test_gives_up_after_max_attempts_retries(sample_server, contract_client):
    sample_server.queue(*[Canned.error(429, "1305")] * 4, Canned.sample("stream_text.sse"))

    events, error = await collect_until_error(contract_client)

    assert [event.attempt for event in events] == [1, 2, 3]
    assert isinstance(error, GLMRateLimited)
    assert len(sample_server.received) == 4


async def test_a_proxy_html_error_page_is_a_retryable_server_error(sample_server, contract_client):
    sample_server.queue(Canned.sample("errors/502_proxy.html", status=502), Canned.sample("stream_text.sse"))

    events = await collect(contract_client)

    assert isinstance(events[0], Retrying) and isinstance(events[0].error, GLMServerError)
    assert events[0].error.code == "http_502"


async def test_an_interruption_before_any_text_is_retried(sample_server, contract_client):
    empty_then_cut = Canned(status=200, body=b"", content_type="text/event-stream")
    sample_server.queue(empty_then_cut, Canned.sample("stream_text.sse"))

    events = await collect(contract_client)

    assert isinstance(events[0], Retrying) and isinstance(events[0].error, GLMStreamInterrupted)
    assert isinstance(events[-1], Finish)


async def test_balance_exhausted_is_not_retried_although_it_comes_as_429(sample_server, contract_client):
    sample_server.queue(Canned.error(429, "1113"), Canned.sample("stream_text.sse"))

    events, error = await collect_until_error(contract_client)

    assert isinstance(error, GLMBalanceExhausted) and len(sample_server.received) == 1
