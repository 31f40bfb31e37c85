"""Stores the messages sent while the database thread is busy in one trip to it.

Every database call of a Daphne process runs on one thread, one call after another. When
hundreds of people send at the same moment, storing each message on its own (about ten
queries) made the last wait for all the others before its reply could start. Here a message
joins whatever is waiting; when the thread is free, everything waiting is stored together by
services.reply_to_new_messages (the same few queries for one message or five hundred), then
each reply is announced and started. A message sent to an idle process goes at once, alone.

The database thread takes batch after batch itself while messages are waiting, handing each
batch's outcome back to the event loop as it goes. Going back to the loop for the next batch
cost a turn of a busy loop each time (a tenth of a second or more with hundreds of replies
streaming), so the last of a burst waited for many turns, not for the database.

The queue, not the socket, announces and starts the replies: a socket closed while its message
was being stored still gets its reply written, as any reply outlives its socket.
"""
from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
import weakref

from channels.db import database_sync_to_async

from . import services
from .frames import new_message_payloads
from .glm_client import async_chat_client
from .refusals import ChatRefused
from .replies import start_reply

log = logging.getLogger(__name__)
# At most this many messages per batch: a burst of hundreds is stored in a few batches, so the
# first replies start while the rest are being stored instead of all waiting for the last.
MAX_BATCH = 64
# Batches stored in one go before other database work (a socket's history, a reply's
# progress) gets its turn on the thread.
MAX_BATCHES_PER_TRIP = 8
_queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, "SendQueue"] = weakref.WeakKeyDictionary()

Waiting = tuple[services.NewMessage, str, asyncio.Future]


def send_queue() -> "SendQueue":
    """This event loop's queue (futures and tasks cannot cross loops)."""
    loop = asyncio.get_running_loop()
    queue = _queues.get(loop)
    if queue is None:
        queue = _queues[loop] = SendQueue(loop)
    return queue


class SendQueue:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        # Shared with the database thread, which takes batches from it.
        self._lock = threading.Lock()
        self._waiting: list[Waiting] = []
        self._draining = False  # a trip to the database thread is under way or on its way
        self._tasks: set[asyncio.Task] = set()
        self._unstarted = 0  # sent, and their replies not started yet

    async def send(self, request: services.NewMessage, *, language: str) -> None:
        """Store the message and start its reply; raises ChatRefused with what a lone message
        would have been told."""
        done = self._loop.create_future()
        # Read the outcome even when the socket stopped waiting, so no error goes unreported.
        done.add_done_callback(lambda future: future.cancelled() or future.exception())
        with self._lock:
            self._waiting.append((request, language, done))
            idle, self._draining = not self._draining, True
        if idle:
            self._start_trip()
        # Each reply's connection to GLM opens while its message is stored (glm/connections.py).
        self._unstarted += 1
        async_chat_client().prepare_connections(self._unstarted)
        # Shielded: a socket that closes meanwhile stops waiting, the storing goes on.
        await asyncio.shield(done)

    def _start_trip(self) -> None:
        self._keep(asyncio.create_task(self._trip(), name="chat-send-queue"))

    def _keep(self, task: asyncio.Task) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _trip(self) -> None:
        # What the database thread hands back runs in the loop's context, not the thread's:
        # asgiref reads from the context where a database call made later must run.
        context = contextvars.copy_context()
        try:
            await database_sync_to_async(self._store_while_waiting)(context)
        except Exception as error:  # the trip itself failed (no connection): fail what waits
            with self._lock:
                failed, self._waiting, self._draining = self._waiting, [], False
            self._unstarted -= len(failed)
            for _request, _language, done in failed:
                _settle(done, error=error)

    def _store_while_waiting(self, context: contextvars.Context) -> None:
        """On the database thread: store batches until none is waiting, or hand the thread to
        other work after MAX_BATCHES_PER_TRIP and come back in a new trip."""
        for _ in range(MAX_BATCHES_PER_TRIP):
            with self._lock:
                batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
                if not batch:
                    self._draining = False
                    return
            try:
                outcomes = _store([(request, language) for request, language, _ in batch])
            except Exception as error:  # each socket reports it as it would its own failure
                self._on_loop(context, self._fail, batch, error)
            else:
                self._on_loop(context, self._stored, batch, outcomes)
        with self._lock:
            more = bool(self._waiting)
            self._draining = more
        if more:
            self._on_loop(context, self._start_trip)

    def _on_loop(self, context: contextvars.Context, callback, *args) -> None:
        try:
            self._loop.call_soon_threadsafe(callback, *args, context=context)
        except RuntimeError:  # the loop has closed: nobody is left to tell
            log.warning("send queue: the event loop closed before %s could run", callback.__name__)

    def _fail(self, batch: list[Waiting], error: Exception) -> None:
        self._unstarted -= len(batch)
        for _request, _language, done in batch:
            _settle(done, error=error)

    def _stored(self, batch: list[Waiting], outcomes: list) -> None:
        # Each reply announces its messages from its own task, side by side with the others
        # and while the next batch is stored: one turn of the event loop from here to its GLM
        # request, where a task to announce them all, then one per reply, cost two more.
        self._unstarted -= len(batch)
        for (_request, _language, done), outcome in zip(batch, outcomes):
            if isinstance(outcome, ChatRefused):
                _settle(done, error=outcome)
            else:
                announce_and_start(*outcome)
                _settle(done)


def _store(batch: list[tuple[services.NewMessage, str]]) -> list:
    """On the database thread: store them all, and describe each stored pair as frames."""
    outcomes = services.reply_to_new_messages([request for request, _language in batch])
    return [
        outcome if isinstance(outcome, ChatRefused) else (outcome, new_message_payloads(outcome, language))
        for (_request, language), outcome in zip(batch, outcomes)
    ]


def announce_and_start(start: services.ReplyStart, payloads: list[dict]) -> None:
    """Start the reply, which first tells every socket on the conversation what changed. The
    payloads travel in the events: by the time a socket reads one, a fast reply may already be
    finished in the database."""
    events = [{"type": "chat.deleted", "message_ids": start.deleted_ids}] if start.deleted_ids else []
    events += [{"type": "chat.message", "message": payload} for payload in payloads]
    start_reply(start.job, announce=events)


def _settle(done: asyncio.Future, *, error: BaseException | None = None) -> None:
    if done.done():  # nobody is waiting any more
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)
