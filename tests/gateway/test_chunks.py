"""Reading GLM documents into events, independent of any SDK or HTTP."""
from __future__ import annotations

import json

import pytest

from glm.chunks import StreamState, ToolCallAssembler, parse_completion, parse_usage
from glm.errors import GLMContentBlocked, GLMStreamInterrupted
from glm.events import ReasoningDelta, TextDelta, ToolCall, Usage
from tests.gateway.sample_server import sample_bytes


def sse_documents(name: str) -> list[dict]:
    events = sample_bytes(name).decode().split("\n\n")
    payloads = [event.removeprefix("data: ") for event in events if event.strip()]
    return [json.loads(payload) for payload in payloads if payload != "[DONE]"]


def test_usage_reads_cached_tokens_from_prompt_details():
    assert parse_usage({"prompt_tokens": 81, "completion_tokens": 186, "prompt_tokens_details": {"cached_tokens": 6},
                        "total_tokens": 267}) == Usage(81, 186, 6)
    assert parse_usage({"prompt_tokens": 1, "completion_tokens": 2}) == Usage(1, 2, 0)
    assert parse_usage(None) is None


def test_text_stream_yields_only_non_empty_content_and_remembers_the_final_chunk():
    state = StreamState()

    events = [event for document in sse_documents("stream_text.sse") for event in state.feed(document)]

    assert events == [TextDelta("土"), TextDelta("豆"), TextDelta("是一种"), TextDelta("块茎。")]
    assert state.finish_reason == "stop"
    assert state.usage == Usage(81, 4, 6)
    assert state.request_id == "20251103162614ab25f9b375f8437a"
    assert state.model == "glm-4.6"


def test_reasoning_comes_as_its_own_events_before_text():
    state = StreamState()

    events = [event for document in sse_documents("stream_reasoning.sse") for event in state.feed(document)]

    assert events == [ReasoningDelta("用户问"), ReasoningDelta("一加一。"), TextDelta("1+1"), TextDelta("=2")]


def test_tool_call_pieces_are_joined_by_index():
    state = StreamState()
    for document in sse_documents("stream_tool_call_in_pieces.sse"):
        state.feed(document)

    assert state.tool_calls.calls() == [ToolCall(id="call_tool_stream_1", name="get_weather", arguments='{"city": "上海"}')]


def test_index_minus_one_calls_with_their_own_ids_stay_separate():
    assembler = ToolCallAssembler()
    assembler.feed([
        {"id": "a", "index": -1, "function": {"name": "one", "arguments": "{}"}},
        {"id": "b", "index": -1, "function": {"name": "two", "arguments": "{\"x\":1}"}},
    ])

    assert assembler.calls() == [ToolCall("a", "one", "{}"), ToolCall("b", "two", '{"x":1}')]


def test_arguments_sent_as_an_object_become_a_json_string():
    assembler = ToolCallAssembler()
    assembler.feed([{"id": "a", "index": 0, "function": {"name": "f", "arguments": {"city": "北京"}}}])

    assert json.loads(assembler.calls()[0].arguments) == {"city": "北京"}


def test_completion_becomes_a_chat_result():
    result = parse_completion(json.loads(sample_bytes("chat_completion.json")))

    assert result.text == "土豆是一种块茎。" and result.reasoning == "" and result.tool_calls == []
    assert result.finish_reason == "stop"
    assert result.usage == Usage(81, 186, 6)
    assert result.request_id == "20251103162614ab25f9b375f8437a" and result.model == "glm-4.6"


def test_completion_with_a_tool_call_keeps_reasoning_and_the_call():
    result = parse_completion(json.loads(sample_bytes("chat_completion_tool_call.json")))

    assert result.finish_reason == "tool_calls"
    assert result.reasoning == "需要查询天气。"
    assert result.tool_calls == [ToolCall("call_20251103162614ab25f9b3", "get_weather", '{"city": "北京"}')]


def test_completion_with_finish_reason_sensitive_raises_content_blocked_with_usage():
    with pytest.raises(GLMContentBlocked) as raised:
        parse_completion(json.loads(sample_bytes("chat_completion_sensitive.json")))

    assert raised.value.usage == Usage(81, 0) and raised.value.http_status == 200


def test_completion_with_finish_reason_network_error_raises_interrupted():
    document = json.loads(sample_bytes("chat_completion.json"))
    document["choices"][0]["finish_reason"] = "network_error"

    with pytest.raises(GLMStreamInterrupted) as raised:
        parse_completion(document)

    assert raised.value.usage == Usage(81, 186, 6)
