"""The embedded default's channel layer: Channels' in-memory layer, made cheap per event.

Channels' InMemoryChannelLayer walks every channel and group looking for expired messages on
each send and receive, and starts an asyncio task for each member of a group it sends to. With
hundreds of sockets each receiving a reply, that walk was half of the event loop's time. Here
the walk runs at most once a second (messages expire after a minute, so a second's slack
changes nothing) and a group send puts the message straight on each member's queue.

Each member still gets its own copy, as over Redis, so no consumer sees another's changes; but
events are JSON-shaped (they must be, to travel through Redis), so copying their dicts and lists
is enough: Channels' deepcopy spent most of its time on bookkeeping for shapes they never have.

A socket's consumer may take its channel's events on its own queue (glmweb/consumer_inbox.py):
then they go straight there, one turn of the event loop sooner, with the same capacity.

A channel's queue is made only when the channel has none: Channels' layer built a new queue
(and its lock and event) on every send and receive, to throw it away unless the channel was new.
"""
from __future__ import annotations

import asyncio
import copy
import time

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer

CLEAN_INTERVAL_SECONDS = 1.0


class LocalChannelLayer(InMemoryChannelLayer):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._cleaned_at = 0.0
        self._inboxes: dict[str, asyncio.Queue] = {}

    def deliver_to(self, channel: str, inbox: asyncio.Queue | None) -> None:
        """Put the channel's messages straight on `inbox` from now on (None: back to the layer's
        own queue); a full inbox refuses them as a full channel would."""
        if inbox is None:
            self._inboxes.pop(channel, None)
        else:
            self._inboxes[channel] = inbox

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now - self._cleaned_at >= CLEAN_INTERVAL_SECONDS:
            self._cleaned_at = now
            super()._clean_expired()

    async def send(self, channel, message):
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_channel_name(channel)
        assert "__asgi_channel__" not in message
        inbox = self._inboxes.get(channel)
        if inbox is not None:
            if inbox.qsize() >= self.get_capacity(channel):
                raise ChannelFull(channel)
            inbox.put_nowait(copy_event(message))
            return
        queue = self._queue(channel)
        try:
            queue.put_nowait((time.time() + self.expiry, copy_event(message)))
        except asyncio.QueueFull:
            raise ChannelFull(channel) from None

    async def receive(self, channel):
        self.require_valid_channel_name(channel)
        self._clean_expired()
        queue = self._queue(channel)
        try:
            _expires, message = await queue.get()
        finally:
            # As Channels' layer: a channel nobody is reading from leaves nothing behind.
            if queue.empty() and self.channels.get(channel) is queue:
                del self.channels[channel]
        return message

    def _queue(self, channel) -> asyncio.Queue:
        queue = self.channels.get(channel)
        if queue is None:
            queue = self.channels[channel] = asyncio.Queue(maxsize=self.get_capacity(channel))
        return queue

    async def group_send(self, group, message):
        assert isinstance(message, dict), "Message is not a dict"
        self.require_valid_group_name(group)
        self._clean_expired()
        for channel in list(self.groups.get(group, ())):
            try:
                await self.send(channel, message)
            except ChannelFull:
                pass  # as Channels' own layer: a full member misses the message


def copy_event(value):
    """A copy of an event that shares nothing mutable with it."""
    if isinstance(value, dict):
        return {key: copy_event(item) for key, item in value.items()}
    if isinstance(value, list):
        return [copy_event(item) for item in value]
    if value is None or isinstance(value, (str, int, float)):  # immutable (bool is an int)
        return value
    return copy.deepcopy(value)  # anything else (a tuple, a Decimal): the general way
