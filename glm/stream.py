"""The asyncio client for chat: streamed replies for the web consumers, one coroutine per stream.

No thread per stream (design decision 1), so one process can hold hundreds of replies open.
Streams are read straight off the shared HTTP client (glm/sse.py says why not through the SDK);
whole completions go through the OpenAI SDK's AsyncOpenAI pointed at GLM's base URL. The SDK's own retries are off;
RetryPolicy decides, and retries happen only before any part of a reply reached the caller
(design decision 5), so a person never sees text twice.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any, AsyncIterator

import httpx2
import openai

from glm.call_log import log_call
from glm.chunks import StreamState, error_for_finish_reason, parse_completion
from glm.errors import (
    GLMConnectionError,
    GLMError,
    GLMStreamInterrupted,
    GLMTimeout,
    error_from_frame,
    error_from_response,
)
from glm.events import Finish, ReasoningDelta, Retrying, StreamEvent, TextDelta, ToolCall
from glm.results import ChatResult
from glm.retry import RetryPolicy
from glm.sdk_errors import from_openai_request_error
from glm.sse import SSEDecoder

__all__ = ["AsyncChatClient", "ChatResult"]

_CONTENT_EVENTS = (TextDelta, ReasoningDelta, ToolCall)


class AsyncChatClient:
    """Chat with GLM from asyncio code. Create one per process and share it; close with aclose()."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        connect_timeout: float = 8.0,
        read_timeout: float = 120.0,
        retry: RetryPolicy | None = None,
        max_connections: int = 1000,
    ) -> None:
        self._base_url = base_url
        self._retry = retry or RetryPolicy()
        # read_timeout bounds each wait for bytes (the first token included), not the whole reply.
        timeout = httpx2.Timeout(read_timeout, connect=connect_timeout)
        self._http = openai.DefaultAsyncHttpxClient(
            timeout=timeout,
            limits=httpx2.Limits(
                max_connections=max_connections,
                max_keepalive_connections=min(100, max_connections),
            ),
        )
        self._completions_url = base_url.rstrip("/") + "/chat/completions"
        self._headers = {"Authorization": f"Bearer {api_key}", "Accept": "text/event-stream"}
        self._sdk = openai.AsyncOpenAI(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=0,
            http_client=self._http,
        )

    def __repr__(self) -> str:
        return f"AsyncChatClient(base_url={self._base_url!r})"

    async def aclose(self) -> None:
        await self._sdk.close()

    async def stream_chat(
        self,
        *,
        model: str,
        messages: list[dict],
        temperature: float | None = None,
        top_p: float | None = None,
        max_tokens: int | None = None,
        tools: list[dict] | None = None,
        user_id: str | None = None,
    ) -> AsyncIterator[StreamEvent]:
        """Yield the reply as it arrives, ending with exactly one Finish.

        Before the first text, reasoning or tool-call event a retryable failure is retried and
        announced with Retrying; after it, any failure is raised. finish_reason "sensitive"
        raises GLMContentBlocked and "network_error" GLMStreamInterrupted, both with the usage
        the API reported. Closing the generator or cancelling its task closes the HTTP response
        at once, so the API stops generating (and billing) the reply.
        """
        request = _chat_request(
            model=model, messages=messages, temperature=temperature, top_p=top_p,
            max_tokens=max_tokens, tools=tools, user_id=user_id,
        )
        retries = 0
        while True:
            delivered = False
            try:
                async with contextlib.aclosing(self._stream_once(request, attempt=retries + 1)) as events:
                    async for event in events:
                        delivered = delivered or isinstance(event, _CONTENT_EVENTS)
                        yield event
                return
            except GLMError as error:
                if delivered or not self._retry.should_retry(error, retries + 1):
                    raise
                failure = error
            retries += 1
            delay = self._retry.delay(retries)
            yield Retrying(attempt=retries, delay=delay, error=failure)
            await asyncio.sleep(delay)

    async def complete_chat(
        self,
        *,
        model: str,
        messages: list[dict],
        temperature: float | None = None,
        top_p: float | None = None,
        max_tokens: int | None = None,
        tools: list[dict] | None = None,
        user_id: str | None = None,
    ) -> ChatResult:
        """The whole reply in one response, retried under the same policy as streams."""
        request = _chat_request(
            model=model, messages=messages, temperature=temperature, top_p=top_p,
            max_tokens=max_tokens, tools=tools, user_id=user_id,
        )
        retries = 0
        while True:
            try:
                return await self._complete_once(request, attempt=retries + 1)
            except GLMError as error:
                if not self._retry.should_retry(error, retries + 1):
                    raise
            retries += 1
            await asyncio.sleep(self._retry.delay(retries))

    async def _stream_once(self, request: dict[str, Any], *, attempt: int) -> AsyncIterator[StreamEvent]:
        started_at = time.monotonic()
        state = StreamState()
        status: int | None = None
        outcome, failure = "cancelled", None
        try:
            async with self._open_stream(request) as response:
                status = response.status_code
                if status != 200:
                    raise error_from_response(
                        status, await response.aread(), request_id=response.headers.get("x-request-id")
                    )
                async with contextlib.aclosing(self._read_chunks(response, state)) as pieces:
                    async for event in pieces:
                        yield event
            finish_error = _finish_error(state)
            if finish_error is not None:
                raise finish_error
            for call in state.tool_calls.calls():
                yield call
            outcome = "ok"
            yield Finish(reason=state.finish_reason or "", usage=state.usage, request_id=state.request_id, model=state.model)
        except GLMError as error:
            outcome, failure = "error", error
            error.request_id = error.request_id or state.request_id
            raise
        except Exception:
            outcome = "error"
            raise
        finally:
            log_call(
                operation="chat.stream", model=request["model"], attempt=attempt, started_at=started_at,
                outcome=outcome, status=status, request_id=state.request_id, error=failure,
                finish_reason=state.finish_reason,
            )

    @contextlib.asynccontextmanager
    async def _open_stream(self, request: dict[str, Any]) -> AsyncIterator[httpx2.Response]:
        """POST the request with stream=true; failures before the response headers are GLMErrors."""
        body = {**request, "stream": True}
        body.update(body.pop("extra_body", None) or {})
        try:
            async with self._http.stream("POST", self._completions_url, json=body, headers=self._headers) as response:
                yield response
        except httpx2.TimeoutException as exc:
            raise GLMTimeout("no response within the timeout") from exc
        except httpx2.TransportError as exc:
            raise GLMConnectionError("could not connect") from exc

    async def _read_chunks(self, response: httpx2.Response, state: StreamState) -> AsyncIterator[TextDelta | ReasoningDelta]:
        """The pieces of text each chunk carries, in order, until [DONE] or the end of the body."""
        decoder = SSEDecoder()
        received = False
        try:
            async for block in response.aiter_bytes():
                for data in decoder.feed(block):
                    if data == "[DONE]":
                        return
                    received = True
                    for event in state.feed(_chunk(data)):
                        yield event
            for data in decoder.finish():
                if data != "[DONE]":
                    for event in state.feed(_chunk(data)):
                        yield event
        except httpx2.TransportError as exc:
            # Once the final chunk has arrived nothing is lost: a fault while waiting for [DONE]
            # must not turn a finished reply into a failure.
            if state.finish_reason is None:
                raise _stream_failure(exc, received_chunks=received) from exc

    async def _complete_once(self, request: dict[str, Any], *, attempt: int) -> ChatResult:
        started_at = time.monotonic()
        try:
            try:
                completion = await self._sdk.chat.completions.create(**request, stream=False)
            except openai.OpenAIError as exc:
                raise from_openai_request_error(exc) from exc
            result = parse_completion(completion.to_dict())
        except GLMError as error:
            log_call(
                operation="chat.complete", model=request["model"], attempt=attempt,
                started_at=started_at, outcome="error", error=error,
            )
            raise
        log_call(
            operation="chat.complete", model=request["model"], attempt=attempt, started_at=started_at,
            outcome="ok", status=200, request_id=result.request_id, finish_reason=result.finish_reason,
        )
        return result


def _chunk(data: str) -> dict:
    """One event's JSON; an in-stream error object ends the reply as the error it names."""
    try:
        chunk = json.loads(data)
    except ValueError as exc:
        raise GLMStreamInterrupted("a chunk was not valid JSON", code="bad_chunk", http_status=200) from exc
    if not isinstance(chunk, dict):
        raise GLMStreamInterrupted("a chunk was not a JSON object", code="bad_chunk", http_status=200)
    if chunk.get("error"):
        raise error_from_frame(chunk)
    return chunk


def _stream_failure(exc: httpx2.TransportError, *, received_chunks: bool) -> GLMError:
    """A failure while reading a body that had started with HTTP 200."""
    if isinstance(exc, httpx2.TimeoutException):
        if not received_chunks:
            # Headers came, then nothing: to a person that is the service not answering.
            return GLMTimeout("no chunk within the read timeout")
        return GLMStreamInterrupted("read timeout in the middle of the reply", code="stream_timeout", http_status=200)
    return GLMStreamInterrupted("connection closed before the final chunk", code="stream_dropped", http_status=200)


def _finish_error(state: StreamState) -> GLMError | None:
    if state.finish_reason is None:
        return GLMStreamInterrupted(
            "the stream ended without a final chunk", code="no_final_chunk", http_status=200,
            request_id=state.request_id,
        )
    return error_for_finish_reason(state.finish_reason, usage=state.usage, request_id=state.request_id)


def _chat_request(
    *,
    model: str,
    messages: list[dict],
    temperature: float | None,
    top_p: float | None,
    max_tokens: int | None,
    tools: list[dict] | None,
    user_id: str | None,
) -> dict[str, Any]:
    request: dict[str, Any] = {"model": model, "messages": messages}
    optional = {"temperature": temperature, "top_p": top_p, "max_tokens": max_tokens, "tools": tools}
    request.update({name: value for name, value in optional.items() if value is not None})
    if user_id is not None:
        # Not an OpenAI parameter; GLM reads it from the body to attribute abuse to an end user.
        request["extra_body"] = {"user_id": user_id}
    return request
