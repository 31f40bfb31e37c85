"""AsyncChatClient against the GLM emulator over real HTTP: replies, every fault trigger, cancellation."""
from __future__ import annotations

import asyncio
import contextlib
import json
import time

import pytest

from glm.errors import (
    GLMAuthError,
    GLMBalanceExhausted,
    GLMConnectionError,
    GLMContentBlocked,
    GLMPromptTooLong,
    GLMRateLimited,
    GLMStreamInterrupted,
    GLMTimeout,
)
from glm.events import Finish, Retrying, TextDelta, ToolCall
from glm.stream import AsyncChatClient
from glm.tokens import count_prompt_tokens, count_text_tokens
from tests.gateway.conftest import fast_retry

MODEL = "glm-4-flash"

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def ask(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


async def stream_until_error(client: AsyncChatClient, text: str) -> tuple[list, Exception]:
    events = []
    with pytest.raises(Exception) as raised:
        async for event in client.stream_chat(model=MODEL, messages=ask(text)):
            events.append(event)
    return events, raised.value


def texts(events: list) -> list[str]:
    return [event.text for event in events if isinstance(event, TextDelta)]


async def test_a_reply_streams_as_text_deltas_then_finish_with_usage(chat_client, clean_emulator):
    messages = ask("Hello there, how are you?")

    events = [event async for event in chat_client.stream_chat(model=MODEL, messages=messages)]

    *deltas, finish = events
    reply = "".join(texts(deltas))
    assert deltas and all(isinstance(event, TextDelta) for event in deltas)
    assert "Hello there, how are you?" in reply
    assert isinstance(finish, Finish) and finish.reason == "stop" and finish.model == MODEL
    assert finish.usage.prompt_tokens == count_prompt_tokens(messages)
    assert finish.usage.completion_tokens == count_text_tokens(reply)
    assert finish.request_id and len(finish.request_id) == 30
    [record] = clean_emulator.requests()
    assert record["stream"] and record["finished"] and not record["client_disconnected"]


async def test_glm_len_sets_the_number_of_reply_tokens(chat_client):
    events = [event async for event in chat_client.stream_chat(model=MODEL, messages=ask("[[glm-len:7]] hi"))]

    assert len(texts(events)) == 7 and events[-1].usage.completion_tokens == 7


async def test_content_blocked_before_streaming_is_not_retried(chat_client, clean_emulator):
    events, error = await stream_until_error(chat_client, "[[glm-error:1301]] hi")

    assert events == [] and isinstance(error, GLMContentBlocked) and error.http_status == 400
    assert len(clean_emulator.requests()) == 1


async def test_concurrency_limit_is_retried_twice_then_answers(chat_client, clean_emulator):
    events = [event async for event in chat_client.stream_chat(model=MODEL, messages=ask("[[glm-error:1302#2]] hi"))]

    retrying = [event for event in events if isinstance(event, Retrying)]
    assert [event.attempt for event in retrying] == [1, 2]
    assert all(isinstance(event.error, GLMRateLimited) for event in retrying)
    assert events[:2] == retrying and isinstance(events[-1], Finish)
    assert [record["status"] for record in clean_emulator.requests()] == [429, 429, 200]


async def test_balance_exhausted_is_not_retried(chat_client, clean_emulator):
    events, error = await stream_until_error(chat_client, "[[glm-error:1113]] hi")

    assert events == [] and isinstance(error, GLMBalanceExhausted) and error.http_status == 429
    assert len(clean_emulator.requests()) == 1


async def test_prompt_too_long_is_not_retried(chat_client, clean_emulator):
    events, error = await stream_until_error(chat_client, "[[glm-error:1261]] hi")

    assert isinstance(error, GLMPromptTooLong) and len(clean_emulator.requests()) == 1


async def test_a_wrong_key_is_an_auth_error(clean_emulator):
    client = AsyncChatClient(api_key="wrong-id.wrong-secret", base_url=clean_emulator.base_url, retry=fast_retry())
    try:
        events, error = await stream_until_error(client, "hi")
    finally:
        await client.aclose()

    assert isinstance(error, GLMAuthError) and error.http_status == 401
    assert len(clean_emulator.requests()) == 1


async def test_cut_sensitive_after_n_chunks_gives_n_deltas_then_blocked_with_usage(chat_client, clean_emulator):
    events, error = await stream_until_error(chat_client, "[[glm-cut:sensitive@3]] one two three four five")

    assert len(events) == 3 and all(isinstance(event, TextDelta) for event in events)
    assert isinstance(error, GLMContentBlocked) and error.http_status == 200
    assert error.usage is not None and error.usage.completion_tokens == 3
    assert len(clean_emulator.requests()) == 1


async def test_cut_network_error_after_n_chunks_gives_n_deltas_then_interrupted_with_usage(chat_client, clean_emulator):
    events, error = await stream_until_error(chat_client, "[[glm-cut:network_error@4]] one two three four five")

    assert len(events) == 4 and all(isinstance(event, TextDelta) for event in events)
    assert isinstance(error, GLMStreamInterrupted) and error.code == "network_error"
    assert error.usage is not None and error.usage.completion_tokens == 4
    assert len(clean_emulator.requests()) == 1


async def test_a_dropped_connection_mid_stream_is_interrupted_without_usage(chat_client, clean_emulator):
    events, error = await stream_until_error(chat_client, "[[glm-drop@2]] one two three four five")

    assert len(events) == 2 and all(isinstance(event, TextDelta) for event in events)
    assert isinstance(error, GLMStreamInterrupted) and error.usage is None and error.http_status == 200
    assert len(clean_emulator.requests()) == 1


async def test_text_that_arrived_before_a_drop_is_kept_when_it_is_read_late(chat_client, clean_emulator):
    # A busy reader: the rest of the text, then the cut, arrive while it handles the first piece.
    events = []
    with pytest.raises(GLMStreamInterrupted):
        async for event in chat_client.stream_chat(model=MODEL, messages=ask("[[glm-drop@6]] one two three four five six seven")):
            events.append(event)
            if len(events) == 1:
                await asyncio.sleep(0.5)

    assert len(texts(events)) == 6


async def test_an_in_stream_error_frame_is_interrupted(chat_client, clean_emulator):
    events, error = await stream_until_error(chat_client, "[[glm-frame-error:1234@3]] one two three four five")

    assert len(events) == 3
    assert isinstance(error, GLMStreamInterrupted) and error.code == "1234"
    assert len(clean_emulator.requests()) == 1


async def test_a_drop_before_any_text_is_retried(chat_client, clean_emulator):
    # Nothing reached the caller, so trying again cannot show anything twice.
    events, error = await stream_until_error(chat_client, "[[glm-drop@0]] one two")

    assert [type(event) for event in events] == [Retrying, Retrying, Retrying]
    assert isinstance(error, GLMStreamInterrupted)
    assert len(clean_emulator.requests()) == 4


async def test_a_hanging_server_times_out_and_the_request_is_abandoned(clean_emulator):
    client = AsyncChatClient(
        api_key=clean_emulator.api_key, base_url=clean_emulator.base_url, read_timeout=0.3,
        retry=fast_retry(max_attempts=1),
    )
    try:
        started = time.monotonic()
        events, error = await stream_until_error(client, "[[glm-hang]]")
        elapsed = time.monotonic() - started
    finally:
        await client.aclose()

    assert [type(event) for event in events] == [Retrying]
    assert isinstance(error, GLMTimeout) and error.retryable
    assert 0.5 <= elapsed < 3
    records = await wait_for_records(clean_emulator, lambda records: len(records) == 2 and all(r["finished"] for r in records))
    assert all(record["client_disconnected"] for record in records)


async def test_a_read_timeout_after_text_is_an_interruption_and_not_retried(clean_emulator):
    client = AsyncChatClient(
        api_key=clean_emulator.api_key, base_url=clean_emulator.base_url, read_timeout=0.3, retry=fast_retry(),
    )
    try:
        events, error = await stream_until_error(client, "[[glm-slow:800]] [[glm-len:5]] go")
    finally:
        await client.aclose()

    assert len(events) == 1 and isinstance(events[0], TextDelta)
    assert isinstance(error, GLMStreamInterrupted) and error.code == "stream_timeout"
    assert "interrupted" in error.user_message()
    assert len(clean_emulator.requests()) == 1


async def test_an_unreachable_service_is_a_connection_error():
    from glm.emulator.testing import RunningEmulator

    with RunningEmulator() as stopped:
        base_url = stopped.base_url
    client = AsyncChatClient(api_key="any-id.any-secret", base_url=base_url, connect_timeout=1.0, retry=fast_retry(max_attempts=1))
    try:
        events, error = await stream_until_error(client, "hi")
    finally:
        await client.aclose()

    assert [type(event) for event in events] == [Retrying]
    assert isinstance(error, GLMConnectionError)
    assert "did not answer" in error.user_message()


async def test_cancelling_the_consuming_task_disconnects_from_the_server_within_a_second(chat_client, clean_emulator):
    got_text = asyncio.Event()

    async def consume() -> None:
        async for event in chat_client.stream_chat(model=MODEL, messages=ask("[[glm-slow:100]] [[glm-len:200]] go")):
            if isinstance(event, TextDelta):
                got_text.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(got_text.wait(), timeout=5)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    cancelled_at = time.monotonic()

    [record] = await wait_for_records(clean_emulator, lambda records: records and records[0]["finished"], timeout=1.0)
    assert time.monotonic() - cancelled_at < 1.0
    assert record["client_disconnected"] and record["chunks_sent"] < 200


async def test_closing_the_stream_early_disconnects_from_the_server(chat_client, clean_emulator):
    stream = chat_client.stream_chat(model=MODEL, messages=ask("[[glm-slow:100]] [[glm-len:200]] go"))
    first = await anext(stream)
    await stream.aclose()
    closed_at = time.monotonic()

    assert isinstance(first, TextDelta)
    [record] = await wait_for_records(clean_emulator, lambda records: records and records[0]["finished"], timeout=1.0)
    assert time.monotonic() - closed_at < 1.0
    assert record["client_disconnected"]


async def test_a_tool_call_round_trip(chat_client):
    question = {"role": "user", "content": "What's the weather in Beijing?"}

    first = [event async for event in chat_client.stream_chat(model="glm-4-plus", messages=[question], tools=[WEATHER_TOOL])]

    [call] = [event for event in first if isinstance(event, ToolCall)]
    assert call.name == "get_weather" and json.loads(call.arguments)["city"].lower() == "beijing"
    assert isinstance(first[-1], Finish) and first[-1].reason == "tool_calls"

    follow_up = [
        question,
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}},
        ]},
        {"role": "tool", "tool_call_id": call.id, "content": json.dumps({"city": "Beijing", "weather": "sunny", "celsius": 23})},
    ]
    second = [event async for event in chat_client.stream_chat(model="glm-4-plus", messages=follow_up, tools=[WEATHER_TOOL])]

    reply = "".join(texts(second))
    assert "sunny" in reply and "23" in reply
    assert isinstance(second[-1], Finish) and second[-1].reason == "stop"


async def test_complete_chat_returns_the_whole_reply(chat_client, clean_emulator):
    result = await chat_client.complete_chat(model=MODEL, messages=ask("[[glm-error:1305#1]] all at once"))

    assert "all at once" in result.text and result.finish_reason == "stop"
    assert result.usage.completion_tokens == count_text_tokens(result.text)
    assert [record["status"] for record in clean_emulator.requests()] == [429, 200]


async def wait_for_records(emulator, ready, *, timeout: float = 3.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        records = await asyncio.to_thread(emulator.requests)
        if ready(records) or time.monotonic() > deadline:
            return records
        await asyncio.sleep(0.02)
