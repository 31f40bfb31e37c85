"""Stores the messages sent while the database thread is busy in one trip to it.

Every database call of a Daphne process runs on one thread, one call after another. When
hundreds of people send at the same moment, storing each message on its own (about ten
queries) made the last wait for all the others before its reply could start. Here a message
joins whatever is waiting; when the thread is free, everything waiting is stored together by
services.reply_to_new_messages (the same few queries for one message or five hundred), then
each reply is announced and started. A message sent to an idle process goes at once, alone.

The queue, not the socket, announces and starts the replies: a socket closed while its message
was being stored still gets its reply written, as any reply outlives its socket.
"""
from __future__ import annotations

import asyncio
import logging
import weakref

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from . import services
from .frames import new_message_payloads
from .refusals import ChatRefused
from .replies import group_name, start_reply

log = logging.getLogger(__name__)
# At most this many messages per trip: a burst of hundreds is stored in a few trips, so the
# first replies start while the rest are being stored instead of all waiting for the last.
MAX_BATCH = 64
_queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, "SendQueue"] = weakref.WeakKeyDictionary()


def send_queue() -> "SendQueue":
    """This event loop's queue (futures and tasks cannot cross loops)."""
    loop = asyncio.get_running_loop()
    queue = _queues.get(loop)
    if queue is None:
        queue = _queues[loop] = SendQueue()
    return queue


class SendQueue:
    def __init__(self) -> None:
        self._waiting: list[tuple[services.NewMessage, str, asyncio.Future]] = []
        self._worker: asyncio.Task | None = None
        self._announcing: set[asyncio.Task] = set()

    async def send(self, request: services.NewMessage, *, language: str) -> None:
        """Store the message and start its reply; raises ChatRefused with what a lone message
        would have been told."""
        done = asyncio.get_running_loop().create_future()
        # Read the outcome even when the socket stopped waiting, so no error goes unreported.
        done.add_done_callback(lambda future: future.cancelled() or future.exception())
        self._waiting.append((request, language, done))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._store_waiting(), name="chat-send-queue")
        # Shielded: a socket that closes meanwhile stops waiting, the storing goes on.
        await asyncio.shield(done)

    async def _store_waiting(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
            try:
                outcomes = await database_sync_to_async(_store)([(request, language) for request, language, _ in batch])
            except Exception as error:  # the socket reports it as it would its own failure
                for _request, _language, done in batch:
                    _settle(done, error=error)
                continue
            stored = []
            for (_request, _language, done), outcome in zip(batch, outcomes):
                if isinstance(outcome, ChatRefused):
                    _settle(done, error=outcome)
                else:
                    stored.append((done, outcome))
            # Announced beside the next trip to the database, each conversation's events in
            # order and the conversations side by side: with Redis each waits for a round trip.
            announcing = asyncio.create_task(_announce_all(stored))
            self._announcing.add(announcing)
            announcing.add_done_callback(self._announcing.discard)


async def _announce_all(stored: list[tuple[asyncio.Future, tuple]]) -> None:
    await asyncio.gather(*(announce_and_start(*outcome) for _done, outcome in stored))
    for done, _outcome in stored:
        _settle(done)


def _store(batch: list[tuple[services.NewMessage, str]]) -> list:
    """On the database thread: store them all, and describe each stored pair as frames."""
    outcomes = services.reply_to_new_messages([request for request, _language in batch])
    return [
        outcome if isinstance(outcome, ChatRefused) else (outcome, new_message_payloads(outcome, language))
        for (_request, language), outcome in zip(batch, outcomes)
    ]


async def announce_and_start(start: services.ReplyStart, payloads: list[dict]) -> None:
    """Tell every socket on the conversation what changed, then start the reply. The payloads
    travel in the events: by the time a socket reads one, a fast reply may already be finished
    in the database."""
    layer = get_channel_layer()
    group = group_name(start.job.conversation_id)
    events = [{"type": "chat.deleted", "message_ids": start.deleted_ids}] if start.deleted_ids else []
    events += [{"type": "chat.message", "message": payload} for payload in payloads]
    try:
        for event in events:
            await layer.group_send(group, event)
    except Exception as error:  # the channel layer is down: the reply is written all the same
        log.warning("reply %s: could not announce its messages: %r", start.job.message_id, error)
    start_reply(start.job)


def _settle(done: asyncio.Future, *, error: BaseException | None = None) -> None:
    if done.done():  # nobody is waiting any more
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)
