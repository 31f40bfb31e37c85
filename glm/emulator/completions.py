"""POST /chat/completions: validate, apply triggers and limits, then answer or stream."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .chat import Reply, compose_reply
from .chat_request import message_text, parse_chat_request
from .delivery import (
    drop_before_answering,
    drop_connection,
    error_response,
    hang_until_client_leaves,
    read_json,
    sleep_ms,
)
from .errors import EmulatorError
from .faults import Triggers, parse_triggers
from .log import RequestRecord
from .state import record_of, state_of
from .vision import inspect_image
from .wire import SSE_DONE, ReplyFrames, dumps, new_request_id, sse_event


@dataclass(frozen=True)
class Pace:
    first_token_ms: float
    chunk_delay_ms: float


async def chat_completions(request: web.Request) -> web.StreamResponse:
    state = state_of(request)
    record = record_of(request)
    body = await read_json(request)
    _note_body(record, body)
    chat = parse_chat_request(body)
    record.last_user_text = chat.last_user_text
    facts = [await asyncio.to_thread(inspect_image, image) for image in chat.images]
    triggers = parse_triggers(chat.trigger_text)

    slot = state.limiter.acquire(record.api_key_id or "", chat.model.name)
    try:
        if triggers.error_code and state.failures.should_fail(
            record.api_key_id or "", chat.trigger_text, triggers.error_times
        ):
            raise EmulatorError(triggers.error_code)
        if triggers.hang:
            await hang_until_client_leaves(request)
            record.client_disconnected = True
            return web.Response()
        newest = len(chat.messages) - 1
        described = [fact for image, fact in zip(chat.images, facts) if image.message_index == newest]
        reply = compose_reply(chat, described, triggers)
        frames = ReplyFrames(
            request_id=chat.request_id or new_request_id(), model=chat.model.name, prompt_tokens=chat.prompt_tokens
        )
        pace = Pace(
            first_token_ms=state.config.first_token_ms,
            chunk_delay_ms=triggers.slow_ms if triggers.slow_ms is not None else state.config.chunk_delay_ms,
        )
        if chat.stream:
            return await _stream(request, record, frames, reply, triggers, pace)
        return await _answer_once(request, frames, reply, triggers, pace)
    finally:
        slot.release()


def _note_body(record: RequestRecord, body: Any) -> None:
    """Log what the body claims before validation, so rejected requests are visible too."""
    if not isinstance(body, dict):
        return
    record.model = body["model"] if isinstance(body.get("model"), str) else None
    record.stream = body.get("stream") is True
    messages = body.get("messages")
    if isinstance(messages, list):
        record.message_count = len(messages)
        for message in reversed(messages):
            if isinstance(message, dict) and message.get("role") == "user":
                try:
                    record.last_user_text = message_text(message)
                except (AttributeError, KeyError, TypeError):
                    pass
                break


async def _answer_once(
    request: web.Request, frames: ReplyFrames, reply: Reply, triggers: Triggers, pace: Pace
) -> web.StreamResponse:
    # The whole reply is generated before the platform answers a non-stream request.
    await sleep_ms(pace.first_token_ms)
    if triggers.slow_ms is not None:
        await sleep_ms(triggers.slow_ms * len(frames.stream_deltas(reply)))
    if triggers.drop_after is not None:
        drop_before_answering(request)
    if triggers.frame_error_code:
        return error_response(EmulatorError(triggers.frame_error_code))
    return web.Response(body=dumps(frames.completion(reply)), content_type="application/json", charset="utf-8")


async def _stream(
    request: web.Request, record: RequestRecord, frames: ReplyFrames, reply: Reply, triggers: Triggers, pace: Pace
) -> web.StreamResponse:
    response = web.StreamResponse(status=200, headers={"Cache-Control": "no-cache"})
    response.content_type = "text/event-stream"
    response.charset = "utf-8"
    await response.prepare(request)
    record.status = 200
    deltas = frames.stream_deltas(reply)
    try:
        await sleep_ms(pace.first_token_ms)
        for index, delta in enumerate(deltas):
            if index:
                await sleep_ms(pace.chunk_delay_ms)
            if await _fault_ends_stream_at(index, request, response, triggers):
                return response
            await response.write(sse_event(frames.delta_chunk(**delta)))
            record.chunks_sent += 1
        if await _fault_ends_stream_at(len(deltas), request, response, triggers, at_end=True):
            return response
        await response.write(sse_event(frames.final_chunk(reply)))
        record.chunks_sent += 1
        await response.write(SSE_DONE)
        await response.write_eof()
    except ConnectionResetError:
        record.client_disconnected = True
    return response


async def _fault_ends_stream_at(
    index: int, request: web.Request, response: web.StreamResponse, triggers: Triggers, *, at_end: bool = False
) -> bool:
    """Apply a drop or error frame due after `index` chunks; True when the stream is over."""
    if triggers.drop_after is not None and (triggers.drop_after == index or (at_end and triggers.drop_after > index)):
        drop_connection(request)
        return True
    frame_code = triggers.frame_error_code
    if frame_code and (triggers.frame_error_after == index or (at_end and triggers.frame_error_after > index)):
        await response.write(sse_event(EmulatorError(frame_code).body()))
        await response.write_eof()
        return True
    return False
