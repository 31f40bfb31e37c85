"""Writes one reply as a job that outlives any socket (design decision 2).

The runner streams the reply from GLM, relays each piece to the conversation's channel-layer
group, keeps the text in memory and flushes it to the database at most every few seconds
(decision 3), then stores the outcome and bills it. It listens on its own channel for "stop"
and for "snapshot" (a socket that joined mid-reply asking for the text so far), so sockets in
any process sharing the channel layer can reach it.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from contextlib import aclosing
from dataclasses import dataclass

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.utils import translation

from glm.errors import GLMError
from glm.events import Finish, Retrying, TextDelta, ToolCall, Usage
from glm.pricing import estimate_completion_usage
from usage.ledger import record_chat_usage
from usage.limits import RateLimited, acquire_model_slot

from . import services
from .delta_relay import DeltaRelay
from .glm_client import async_chat_client
from .models import Conversation, Message
from .services import ReplyJob
from .tools import run_tool, tool_schemas
from .titles import write_title

log = logging.getLogger(__name__)

_running: set[asyncio.Task] = set()
# Rounds of tool calls one reply may make before the model must answer in text.
MAX_TOOL_ROUNDS = 3


def group_name(conversation_id: int) -> str:
    return f"chat.conversation.{int(conversation_id)}"


def start_reply(job: ReplyJob, *, announce: list[dict] | None = None) -> asyncio.Task:
    """Run the reply in this process's event loop, detached from whoever asked for it. The
    `announce` events (the messages just stored) go to the conversation's sockets first, in
    order, before anything of the reply itself."""
    task = asyncio.create_task(ReplyRunner(job, announce=announce).run(), name=f"reply-{job.message_id}")
    _running.add(task)
    task.add_done_callback(_running.discard)
    return task


def running_replies() -> set[asyncio.Task]:
    return set(_running)


async def wait_for_replies(timeout: float = 30.0) -> None:
    """Wait until every reply (and title) started by this process has ended."""
    deadline = time.monotonic() + timeout
    while _running and time.monotonic() < deadline:
        await asyncio.wait(set(_running), timeout=max(0.0, deadline - time.monotonic()))


def _log_failure(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("reply control listener failed", exc_info=task.exception())


def _both_languages(error: GLMError) -> dict:
    return {"en": error.user_message("en"), "zh-hans": error.user_message("zh-hans")}


class _LocalRefusal:
    """A refusal of our own (the model's rate limit) shaped like a GLMError for _finish."""

    usage = None
    request_id = None

    def __init__(self, code: str, lazy_message):
        self.code = code
        self._message = lazy_message

    def user_message(self, language: str) -> str:
        with translation.override(language):
            return str(self._message)


@dataclass
class _Outcome:
    status: str
    usage: Usage | None = None
    usage_exact: bool = False
    finish_reason: str = ""
    request_id: str = ""
    error: GLMError | None = None


class ReplyRunner:
    def __init__(self, job: ReplyJob, *, announce: list[dict] | None = None):
        self.job = job
        self.announce = list(announce or ())
        self.text = ""
        self.stop_requested = False
        self.layer = get_channel_layer()
        self.group = group_name(job.conversation_id)
        self._task: asyncio.Task | None = None
        self._streaming = False
        self._last_flush = time.monotonic()
        # What the model is sent; tool rounds append the calls and their results.
        self.messages = list(job.messages)
        self.tools: list[dict] = []
        self.deltas = DeltaRelay(message_id=job.message_id, publish=self._publish)

    async def run(self) -> None:
        self._task = asyncio.current_task()
        await self._announce()
        control = asyncio.create_task(self._serve_control())
        control.add_done_callback(_log_failure)
        self.deltas.start()
        try:
            self._streaming = True
            outcome = await self._stream()
        except asyncio.CancelledError:
            status = Message.Status.STOPPED if self.stop_requested else Message.Status.INTERRUPTED
            outcome = _Outcome(status=status)
            if not self.stop_requested:
                # The process is going away: save what we have, then let the cancellation through.
                await self._finish(outcome)
                raise
        except Exception:  # a bug must not leave the reply "streaming" forever
            log.exception("reply %s failed unexpectedly", self.job.message_id)
            outcome = _Outcome(status=Message.Status.ERROR, error=None)
        finally:
            self._streaming = False
            control.cancel()
        if self._task.cancelling():
            self._task.uncancel()
        await self._finish(outcome)
        if outcome.status == Message.Status.COMPLETE and self.job.first_exchange:
            await write_title(job=self.job, group=self.group)

    async def _announce(self) -> None:
        if not self.announce:
            return
        try:
            # One event for them all: one send to each socket (one Redis publish), in order.
            await self.layer.group_send(self.group, {"type": "chat.announce", "events": self.announce})
        except Exception as error:  # the channel layer is down: the reply is written all the same
            log.warning("reply %s: could not announce its messages: %r", self.job.message_id, error)

    async def _stream(self) -> _Outcome:
        """Stream the reply; when the model calls tools, run them and stream on with their
        results (each round is one billable API call), up to MAX_TOOL_ROUNDS rounds."""
        for round_number in range(MAX_TOOL_ROUNDS + 1):
            offer_tools = self.job.offer_tools and round_number < MAX_TOOL_ROUNDS
            try:
                # Keep under the account's requests per minute for this model (every process).
                await acquire_model_slot(model=self.job.model)
                finish, calls = await self._stream_round(tools=tool_schemas() if offer_tools else None)
            except RateLimited as limited:
                return _Outcome(status=Message.Status.ERROR, error=_LocalRefusal(limited.code, limited.message))
            except GLMError as error:
                return _Outcome(
                    status=Message.Status.ERROR,
                    usage=error.usage,
                    usage_exact=error.usage is not None,
                    request_id=error.request_id or "",
                    error=error,
                )
            if finish.reason != "tool_calls" or not calls:
                break
            await self._bill_tool_round(finish, round_number)
            await self._run_tools(calls)
        return _Outcome(
            status=Message.Status.COMPLETE,
            usage=finish.usage,
            usage_exact=finish.usage is not None,
            finish_reason=finish.reason,
            request_id=finish.request_id or "",
        )

    async def _stream_round(self, *, tools: list[dict] | None) -> tuple[Finish, list[ToolCall]]:
        job = self.job
        finish: Finish | None = None
        calls: list[ToolCall] = []
        stream = async_chat_client().stream_chat(
            model=job.model,
            messages=self.messages,
            temperature=job.temperature,
            top_p=job.top_p,
            max_tokens=job.max_tokens,
            tools=tools,
            user_id=f"user-{job.user_id:06d}",
        )
        # aclosing: leaving the loop early (a stop) closes the upstream response at once.
        async with aclosing(stream):
            async for event in stream:
                await self._handle(event, calls)
                if isinstance(event, Finish):
                    finish = event
                if self.stop_requested:
                    # The cancellation that carried the stop can be swallowed by a library
                    # it interrupted (a Redis call, say); the flag is the stop that cannot be.
                    raise asyncio.CancelledError
        assert finish is not None, "a stream that ends without raising ends with a Finish"
        return finish, calls

    async def _handle(self, event, calls: list[ToolCall]) -> None:
        """Relay text and status; collect tool calls for after the round."""
        job = self.job
        if isinstance(event, TextDelta):
            self.deltas.add(offset=len(self.text), text=event.text)
            self.text += event.text
            if time.monotonic() - self._last_flush >= settings.CHAT_FLUSH_INTERVAL_SECONDS:
                await database_sync_to_async(services.reply_save_progress)(message_id=job.message_id, text=self.text)
                self._last_flush = time.monotonic()
        elif isinstance(event, Retrying):
            await self.deltas.flush()
            await self._publish(
                {
                    "type": "chat.status",
                    "message_id": job.message_id,
                    "state": "retrying",
                    "texts": _both_languages(event.error),
                },
            )
        elif isinstance(event, ToolCall):
            calls.append(event)

    async def _run_tools(self, calls: list[ToolCall]) -> None:
        """Run each call, tell the sockets, and hand the results to the model's next round."""
        self.messages.append(
            {
                "role": "assistant",
                "content": self.text,
                "tool_calls": [
                    {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                    for c in calls
                ],
            }
        )
        for call in calls:
            result = await database_sync_to_async(self._run_tool)(call)
            record = {"id": call.id, "name": call.name, "arguments": call.arguments, "result": result}
            self.tools.append(record)
            await self.deltas.flush()
            await self._publish({"type": "chat.tool", "message_id": self.job.message_id, "tool": record})
            self.messages.append(
                {"role": "tool", "tool_call_id": call.id, "content": json.dumps(result, ensure_ascii=False)}
            )

    def _run_tool(self, call: ToolCall) -> dict:
        conversation = Conversation.objects.select_related("user").get(pk=self.job.conversation_id)
        return run_tool(
            name=call.name,
            arguments_json=call.arguments,
            user=conversation.user,
            conversation=conversation,
            tool_call_id=call.id,
        )

    async def _bill_tool_round(self, finish: Finish, round_number: int) -> None:
        usage = finish.usage or estimate_completion_usage(messages=self.messages, completion_text="")
        await database_sync_to_async(record_chat_usage)(
            user_id=self.job.user_id,
            kind=self.job.kind,
            model=self.job.model,
            usage=usage,
            exact=finish.usage is not None,
            charge_key=f"reply:{self.job.message_id}:tools:{round_number}",
            conversation_id=self.job.conversation_id,
            message_id=self.job.message_id,
            glm_request_id=finish.request_id,
        )

    async def _publish(self, event: dict) -> None:
        """Relay an event to the conversation's sockets. The reply matters more than its relay:
        if the channel layer is down (Redis restarting), writing goes on and sockets that
        reconnect read the text from the snapshot or the database."""
        try:
            await self.layer.group_send(self.group, event)
        except Exception as error:  # channels-redis raises redis' own errors
            log.warning("reply %s: could not publish %s: %r", self.job.message_id, event.get("type"), error)

    async def _serve_control(self) -> None:
        while True:
            try:
                request = await self.layer.receive(self.job.runner_channel)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the channel layer is down: listen again shortly
                log.warning("reply %s: control channel failed: %r", self.job.message_id, error)
                await asyncio.sleep(1.0)
                continue
            if request.get("type") == "reply.stop" and self._streaming:
                self.stop_requested = True
                self._task.cancel()
            elif request.get("type") == "reply.snapshot":
                try:
                    await self.layer.send(
                        request["reply_to"],
                        {"type": "chat.snapshot", "message_id": self.job.message_id, "text": self.text},
                    )
                except Exception as error:  # the asking socket falls back to the database
                    log.warning("reply %s: snapshot not sent: %r", self.job.message_id, error)

    async def _finish(self, outcome: _Outcome) -> None:
        await self.deltas.close()
        error = outcome.error
        error_detail = _both_languages(error) if error else {}
        error_code = error.code if error else ("internal" if outcome.status == Message.Status.ERROR else "")
        if outcome.status == Message.Status.INTERRUPTED:
            error_code = "interrupted"
        charge = await database_sync_to_async(self._save_and_bill)(outcome, error_code, error_detail)
        await self._publish(
            {
                "type": "chat.done",
                "message_id": self.job.message_id,
                "status": outcome.status,
                "text": self.text,
                "usage": None
                if charge is None
                else {
                    "prompt_tokens": charge.prompt_tokens,
                    "completion_tokens": charge.completion_tokens,
                    "estimated": not charge.exact,
                },
                "cost": None if charge is None else str(charge.cost),
                "error_code": error_code,
                "error_texts": error_detail,
            },
        )

    def _billable_usage(self, outcome: _Outcome) -> tuple[Usage, bool] | None:
        """What to charge: the API's figures when it sent them, else an estimate of what was
        generated; nothing when nothing was generated and the API reported nothing."""
        if outcome.usage is not None:
            return outcome.usage, True
        if not self.text:
            return None
        return estimate_completion_usage(messages=self.messages, completion_text=self.text), False

    def _save_and_bill(self, outcome: _Outcome, error_code: str, error_detail: dict):
        """Charge the reply (if anything was generated) and store its outcome with the charge,
        together: a reply is never left finished without the cost it was billed."""
        job = self.job
        with transaction.atomic():
            charge = self._bill(outcome)
            services.reply_finish(
                message_id=job.message_id,
                text=self.text,
                status=outcome.status,
                finish_reason=outcome.finish_reason,
                error_code=error_code,
                error_detail=error_detail,
                glm_request_id=outcome.request_id,
                tools=self.tools,
                charge=charge,
            )
        return charge

    def _bill(self, outcome: _Outcome):
        billable = self._billable_usage(outcome)
        if billable is None:
            return None
        usage, exact = billable
        return record_chat_usage(
            user_id=self.job.user_id,
            kind=self.job.kind,
            model=self.job.model,
            usage=usage,
            exact=exact,
            charge_key=f"reply:{self.job.message_id}",
            conversation_id=self.job.conversation_id,
            message_id=self.job.message_id,
            glm_request_id=outcome.request_id,
        )
