"""Writes one reply as a job that outlives any socket (design decision 2).

The runner streams the reply from GLM, relays each piece to the conversation's channel-layer
group, keeps the text in memory and flushes it to the database at most every few seconds
(decision 3), then stores the outcome and bills it. It listens on its own channel for "stop"
and for "snapshot" (a socket that joined mid-reply asking for the text so far), so sockets in
any process sharing the channel layer can reach it.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

from glm.errors import GLMError
from glm.events import Finish, Retrying, TextDelta, ToolCall, Usage
from glm.pricing import estimate_completion_usage
from usage.ledger import record_chat_usage

from . import services
from .glm_client import async_chat_client
from .models import Message
from .services import ReplyJob
from .titles import write_title

log = logging.getLogger(__name__)

_running: set[asyncio.Task] = set()


def group_name(conversation_id: int) -> str:
    return f"chat.conversation.{int(conversation_id)}"


def start_reply(job: ReplyJob) -> asyncio.Task:
    """Run the reply in this process's event loop, detached from whoever asked for it."""
    task = asyncio.create_task(ReplyRunner(job).run(), name=f"reply-{job.message_id}")
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


@dataclass
class _Outcome:
    status: str
    usage: Usage | None = None
    usage_exact: bool = False
    finish_reason: str = ""
    request_id: str = ""
    error: GLMError | None = None


class ReplyRunner:
    def __init__(self, job: ReplyJob):
        self.job = job
        self.text = ""
        self.stop_requested = False
        self.layer = get_channel_layer()
        self.group = group_name(job.conversation_id)
        self._task: asyncio.Task | None = None
        self._streaming = False

    async def run(self) -> None:
        self._task = asyncio.current_task()
        control = asyncio.create_task(self._serve_control())
        control.add_done_callback(_log_failure)
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

    async def _stream(self) -> _Outcome:
        job = self.job
        flush_interval = settings.CHAT_FLUSH_INTERVAL_SECONDS
        last_flush = time.monotonic()
        finish: Finish | None = None
        try:
            async for event in async_chat_client().stream_chat(
                model=job.model,
                messages=job.messages,
                temperature=job.temperature,
                top_p=job.top_p,
                max_tokens=job.max_tokens,
                user_id=f"user-{job.user_id:06d}",
            ):
                if isinstance(event, TextDelta):
                    offset = len(self.text)
                    self.text += event.text
                    await self._publish(
                        {"type": "chat.delta", "message_id": job.message_id, "offset": offset, "text": event.text},
                    )
                    if time.monotonic() - last_flush >= flush_interval:
                        await database_sync_to_async(services.reply_save_progress)(
                            message_id=job.message_id, text=self.text
                        )
                        last_flush = time.monotonic()
                elif isinstance(event, Retrying):
                    await self._publish(
                        {
                            "type": "chat.status",
                            "message_id": job.message_id,
                            "state": "retrying",
                            "texts": _both_languages(event.error),
                        },
                    )
                elif isinstance(event, Finish):
                    finish = event
                elif isinstance(event, ToolCall):
                    # No tools are offered to chat replies yet; a stray call is ignored.
                    log.warning("reply %s: unexpected tool call %s", job.message_id, event.name)
        except GLMError as error:
            return _Outcome(
                status=Message.Status.ERROR,
                usage=error.usage,
                usage_exact=error.usage is not None,
                request_id=error.request_id or "",
                error=error,
            )
        assert finish is not None, "a stream that ends without raising ends with a Finish"
        return _Outcome(
            status=Message.Status.COMPLETE,
            usage=finish.usage,
            usage_exact=finish.usage is not None,
            finish_reason=finish.reason,
            request_id=finish.request_id or "",
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
        return estimate_completion_usage(messages=self.job.messages, completion_text=self.text), False

    def _save_and_bill(self, outcome: _Outcome, error_code: str, error_detail: dict):
        job = self.job
        services.reply_finish(
            message_id=job.message_id,
            text=self.text,
            status=outcome.status,
            finish_reason=outcome.finish_reason,
            error_code=error_code,
            error_detail=error_detail,
            glm_request_id=outcome.request_id,
        )
        billable = self._billable_usage(outcome)
        if billable is None:
            return None
        usage, exact = billable
        charge = record_chat_usage(
            user_id=job.user_id,
            kind=job.kind,
            model=job.model,
            usage=usage,
            exact=exact,
            charge_key=f"reply:{job.message_id}",
            conversation_id=job.conversation_id,
            message_id=job.message_id,
            glm_request_id=outcome.request_id,
        )
        services.reply_record_charge(
            message_id=job.message_id,
            prompt_tokens=charge.prompt_tokens,
            completion_tokens=charge.completion_tokens,
            estimated=not charge.exact,
            cost=charge.cost,
        )
        return charge
