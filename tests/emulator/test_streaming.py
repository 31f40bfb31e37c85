"""Streams: SSE framing byte for byte, one token piece per chunk, usage only in the final chunk."""
from __future__ import annotations

import json

from glm.tokens import count_prompt_tokens, split_pieces

MESSAGES = [{"role": "user", "content": "stream me [[glm-len:12]]"}]


def _raw_events(http, body: dict) -> tuple[str, list[str]]:
    with http.stream("POST", "/chat/completions", json=body) as response:
        assert response.status_code == 200
        raw = response.read().decode()
    return response.headers["content-type"], raw


def test_stream_is_event_stream_of_data_lines_each_followed_by_a_blank_line(http):
    content_type, raw = _raw_events(http, {"model": "glm-4-flash", "stream": True, "messages": MESSAGES})
    assert content_type.startswith("text/event-stream")
    assert raw.endswith("data: [DONE]\n\n")
    events = raw.split("\n\n")[:-1]
    assert all(event.startswith("data: ") and "\n" not in event for event in events)
    assert "event:" not in raw


def test_stream_sends_one_token_piece_per_chunk_then_final_usage_then_done(http):
    _, raw = _raw_events(http, {"model": "glm-4-flash", "stream": True, "messages": MESSAGES})
    payloads = [event[len("data: "):] for event in raw.split("\n\n")[:-1]]
    assert payloads[-1] == "[DONE]"
    chunks = [json.loads(payload) for payload in payloads[:-1]]
    *pieces, final = chunks
    ids = {chunk["id"] for chunk in chunks}
    assert len(ids) == 1 and len(ids.pop()) == 30
    for chunk in pieces:
        assert chunk["object"] == "chat.completion.chunk"
        assert chunk["model"] == "glm-4-flash"
        assert "usage" not in chunk
        choice = chunk["choices"][0]
        assert "finish_reason" not in choice
        assert choice["delta"]["role"] == "assistant"
    text = "".join(chunk["choices"][0]["delta"]["content"] for chunk in pieces)
    assert [chunk["choices"][0]["delta"]["content"] for chunk in pieces] == split_pieces(text)
    assert len(pieces) == 12
    assert final["object"] == "chat.completion.chunk"
    assert final["choices"][0] == {"index": 0, "finish_reason": "stop", "delta": {"role": "assistant", "content": ""}}
    assert final["usage"] == {
        "completion_tokens": 12,
        "prompt_tokens": count_prompt_tokens(MESSAGES),
        "prompt_tokens_details": {"cached_tokens": 0},
        "total_tokens": 12 + count_prompt_tokens(MESSAGES),
    }


def test_stream_through_zhipuai_has_usage_only_in_the_final_chunk(zhipu):
    chunks = list(zhipu.chat.completions.create(model="glm-4-flash", messages=MESSAGES, stream=True))
    assert [chunk.usage for chunk in chunks[:-1]] == [None] * (len(chunks) - 1)
    assert chunks[-1].usage.completion_tokens == 12
    assert chunks[-1].choices[0].finish_reason == "stop"
    text = "".join(chunk.choices[0].delta.content for chunk in chunks)
    assert text.startswith("You said: «stream me")


def test_stream_through_openai_matches_the_non_stream_reply(openai_client):
    messages = [{"role": "user", "content": "same either way"}]
    whole = openai_client.chat.completions.create(model="glm-4-air", messages=messages)
    chunks = list(openai_client.chat.completions.create(model="glm-4-air", messages=messages, stream=True))
    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks) == whole.choices[0].message.content
    assert chunks[-1].usage.completion_tokens == whole.usage.completion_tokens
    assert all(chunk.usage is None for chunk in chunks[:-1])


async def test_async_openai_stream_helper_keeps_every_chunk(async_openai):
    # The helper drops chunks without "object"; the emulator always sends it.
    async with async_openai.chat.completions.stream(model="glm-4-flash", messages=MESSAGES) as stream:
        async for _event in stream:
            pass
        completion = await stream.get_final_completion()
    assert completion.choices[0].message.content.startswith("You said: «stream me")
    assert completion.usage.completion_tokens == 12


def test_stream_respects_max_tokens_with_finish_reason_length(zhipu):
    chunks = list(zhipu.chat.completions.create(model="glm-4-flash", messages=MESSAGES, stream=True, max_tokens=3))
    assert len(chunks) == 4
    assert chunks[-1].choices[0].finish_reason == "length"
    assert chunks[-1].usage.completion_tokens == 3


def test_thinking_stream_sends_reasoning_pieces_before_content(http):
    body = {"model": "glm-5", "stream": True, "thinking": {"type": "enabled"}, "messages": MESSAGES}
    _, raw = _raw_events(http, body)
    deltas = [json.loads(event[6:])["choices"][0]["delta"] for event in raw.split("\n\n")[:-2]]
    kinds = ["reasoning" if "reasoning_content" in delta else "content" for delta in deltas[:-1]]
    assert kinds == sorted(kinds, key=lambda kind: kind != "reasoning")
    assert kinds[0] == "reasoning" and kinds[-1] == "content"


def test_errors_before_streaming_are_plain_json_not_sse(http):
    response = http.post("/chat/completions", json={"model": "nope", "stream": True, "messages": MESSAGES})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"]["code"] == "1211"
