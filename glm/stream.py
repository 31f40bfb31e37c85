"""The asyncio client for chat: streamed replies for the web consumers, one coroutine per stream.

No thread per stream (design decision 1), so one process can hold hundreds of replies open.
It speaks GLM's OpenAI-compatible HTTP API itself, on one shared aiohttp connection pool,
rather than through the OpenAI SDK's AsyncOpenAI: the SDK validated every streamed chunk into a
pydantic model, and its HTTP stack (httpx, h11 and anyio, in Python) spent more again on every
read; together most of the CPU of relaying a reply (docs/gateway.md).
RetryPolicy decides about retries, and they happen only before any part of a reply reached the
caller (design decision 5), so a person never sees text twice.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any, AsyncIterator

import aiohttp
import yarl

from glm.call_log import log_call
from glm.chunks import StreamState, error_for_finish_reason, parse_completion
from glm.connections import PreparingConnector
from glm.errors import (
    GLMConnectionError,
    GLMError,
    GLMServerError,
    GLMStreamInterrupted,
    GLMTimeout,
    error_from_frame,
    error_from_response,
)
from glm.events import Finish, ReasoningDelta, Retrying, StreamEvent, TextDelta, ToolCall
from glm.results import ChatResult
from glm.retry import RetryPolicy
from glm.sse import SSEDecoder

__all__ = ["AsyncChatClient", "ChatResult"]

_CONTENT_EVENTS = (TextDelta, ReasoningDelta, ToolCall)
# After [DONE], how long the end of the body (the last chunk of the chunked encoding) is waited for.
END_OF_BODY_WAIT_SECONDS = 1.0


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
        # sock_read bounds each wait for bytes (the first token included), not the whole reply.
        self._timeout = aiohttp.ClientTimeout(total=None, connect=connect_timeout, sock_read=read_timeout)
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None
        self._prepare_request: aiohttp.ClientRequest | None = None  # where prepared connections go
        self._completions_url = base_url.rstrip("/") + "/chat/completions"
        self._headers = {
            "Authorization": f"Bearer {api_key}",
            "Accept": "text/event-stream",
            "Content-Type": "application/json",
        }

    def __repr__(self) -> str:
        return f"AsyncChatClient(base_url={self._base_url!r})"

    async def aclose(self) -> None:
        self._prepare_request = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    def prepare_connections(self, count: int) -> None:
        """Have `count` connections to GLM open or opening for requests about to be made: the
        chat asks for one per message being stored, so the two overlap (glm/connections.py)."""
        if self._prepare_request is None:
            self._prepare_request = aiohttp.ClientRequest(
                "POST", yarl.URL(self._completions_url), loop=asyncio.get_running_loop()
            )
        self._http().connector.prepare(self._prepare_request, self._timeout, count)

    def _http(self) -> aiohttp.ClientSession:
        # Made on first use, inside the event loop it belongs to (aiohttp binds a session to it).
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=PreparingConnector(limit=self._max_connections),
                # The API sets no cookies: no jar to search on every request and fill on every response.
                cookie_jar=aiohttp.DummyCookieJar(),
                timeout=self._timeout,
                raise_for_status=False,
            )
        return self._session

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
                status = response.status
                if status != 200:
                    raise error_from_response(
                        status, await _error_body(response), request_id=response.headers.get("x-request-id")
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
    async def _open_stream(self, request: dict[str, Any]) -> AsyncIterator[aiohttp.ClientResponse]:
        """POST the request with stream=true; failures before the response headers are GLMErrors."""
        try:
            response = await self._http().post(
                self._completions_url, data=_json_bytes(_wire_body(request, stream=True)), headers=self._headers
            )
        except aiohttp.ClientError as exc:
            raise _request_failure(exc) from exc
        except TimeoutError as exc:
            raise GLMTimeout("no response within the timeout") from exc
        # Leaving early (a stop, a cancelled task) closes the connection at once: the API stops
        # generating, and billing, the rest of the reply.
        async with response:
            yield response

    async def _read_chunks(self, response: aiohttp.ClientResponse, state: StreamState) -> AsyncIterator[TextDelta | ReasoningDelta]:
        """The pieces of text each chunk carries, in order, until [DONE] or the end of the body."""
        decoder = SSEDecoder()
        received = False
        try:
            async for block in response.content.iter_any():
                for data in decoder.feed(block):
                    if data == "[DONE]":
                        await _read_to_end(response)
                        return
                    received = True
                    for event in state.feed(_chunk(data)):
                        yield event
            for data in decoder.finish():
                if data != "[DONE]":
                    for event in state.feed(_chunk(data)):
                        yield event
        except (aiohttp.ClientError, TimeoutError) as exc:
            # What arrived before the fault reached us: its text is the reply's, however late it
            # is read (aiohttp raises the fault at the next read and leaves those bytes unread).
            for data in decoder.feed(_unread(response.content)):
                if data != "[DONE]":
                    received = True
                    for event in state.feed(_chunk(data)):
                        yield event
            # Once the final chunk has arrived nothing is lost: a fault while waiting for [DONE]
            # must not turn a finished reply into a failure.
            if state.finish_reason is None:
                raise _stream_failure(exc, received_chunks=received) from exc

    async def _complete_once(self, request: dict[str, Any], *, attempt: int) -> ChatResult:
        started_at = time.monotonic()
        try:
            result = parse_completion(await self._post_json(request))
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

    async def _post_json(self, request: dict[str, Any]) -> dict:
        """POST a whole-completion request; the response document, or the GLMError it stands for."""
        try:
            async with self._http().post(
                self._completions_url, data=_json_bytes(_wire_body(request)), headers=self._headers
            ) as response:
                content = await response.read()
        except aiohttp.ClientError as exc:
            raise _request_failure(exc) from exc
        except TimeoutError as exc:
            raise GLMTimeout("no response within the timeout") from exc
        if response.status != 200:
            raise error_from_response(response.status, content, request_id=response.headers.get("x-request-id"))
        try:
            document = json.loads(content)
        except ValueError:
            document = None
        if not isinstance(document, dict):
            raise GLMServerError("response did not match the expected schema", code="invalid_response")
        return document


async def _error_body(response: aiohttp.ClientResponse) -> bytes | None:
    """An error response's body; if it cannot be read, the status alone has to do."""
    try:
        return await response.read()
    except (aiohttp.ClientError, TimeoutError):
        return None


def _json_bytes(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _wire_body(request: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The JSON body: the request with GLM's own fields (user_id) at the top level."""
    body = {**request, **extra}
    body.update(body.pop("extra_body", None) or {})
    return body


async def _read_to_end(response: aiohttp.ClientResponse) -> None:
    """Read what follows [DONE] to the end of the body, briefly. A response read to its end
    leaves its connection in the pool for the next request; one left unfinished (the end often
    arrives a moment after [DONE]) has its connection closed, and the next request connects
    (TCP and TLS) again."""
    with contextlib.suppress(aiohttp.ClientError, TimeoutError):
        async with asyncio.timeout(END_OF_BODY_WAIT_SECONDS):
            while await response.content.readany():
                pass


def _unread(content: aiohttp.StreamReader) -> bytes:
    """The bytes a response's reader holds that nobody has read yet."""
    return b"".join(getattr(content, "_buffer", ()))


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


def _request_failure(exc: aiohttp.ClientError) -> GLMError:
    """A failure before the response headers arrived."""
    if isinstance(exc, TimeoutError):  # aiohttp's connect and read timeouts are TimeoutErrors
        return GLMTimeout("no response within the timeout")
    return GLMConnectionError("could not connect")


def _stream_failure(exc: Exception, *, received_chunks: bool) -> GLMError:
    """A failure while reading a body that had started with HTTP 200."""
    if isinstance(exc, TimeoutError):
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
