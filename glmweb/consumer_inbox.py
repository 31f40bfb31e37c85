"""One queue per socket for all it must handle: the browser's frames and the channel layer's events.

Channels' consumers wait for both with asyncio.wait and a new task per message, so each event
took three turns of the event loop to reach its handler (the receiving task wakes, it ends, then
the consumer wakes), and with hundreds of replies streaming a turn of Daphne's loop lasts tens of
milliseconds. Here both feed one queue that the consumer reads. Daphne (like Channels' test
communicator) hands the application a queue's get as `receive`: that queue is the inbox, the
browser's frames are on it already, and the in-memory layer puts the socket's events straight on
it: one turn for either. Elsewhere a pump task moves the frames, and the events of any other
layer, onto an inbox of its own (two turns). Handlers still run one at a time, in the order
their messages arrived, and a StopConsumer from a handler ends the socket as in Channels.
"""
from __future__ import annotations

import asyncio
import functools

from channels.exceptions import StopConsumer
from channels.layers import get_channel_layer


class InboxConsumerMixin:
    """Put before a Channels async consumer class: replaces how messages reach `dispatch`."""

    async def __call__(self, scope, receive, send):
        self.scope = scope
        self.base_send = send
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        pumps = []
        inbox = _queue_behind(receive)
        if inbox is None:
            inbox = asyncio.Queue()
            pumps.append(asyncio.create_task(_pump(receive, inbox)))
        deliver_to = None
        if self.channel_layer is not None:
            self.channel_name = await self.channel_layer.new_channel()
            deliver_to = getattr(self.channel_layer, "deliver_to", None)
            if deliver_to is not None:
                deliver_to(self.channel_name, inbox)
            else:
                layer_receive = functools.partial(self.channel_layer.receive, self.channel_name)
                pumps.append(asyncio.create_task(_pump(layer_receive, inbox)))
        try:
            while True:
                message = await inbox.get()
                if isinstance(message, _Failed):  # a source failed: as in Channels, so does the socket
                    raise message.error
                await self.dispatch(message)
        except StopConsumer:
            pass
        finally:
            if deliver_to is not None:
                deliver_to(self.channel_name, None)
            for pump in pumps:
                pump.cancel()


def _queue_behind(receive) -> asyncio.Queue | None:
    """The queue whose get() `receive` is, if it is one."""
    if getattr(receive, "__func__", None) is asyncio.Queue.get and isinstance(receive.__self__, asyncio.Queue):
        return receive.__self__
    return None


class _Failed:
    def __init__(self, error: Exception) -> None:
        self.error = error


async def _pump(source, inbox: asyncio.Queue) -> None:
    """Move what `source()` returns onto the inbox until cancelled or the source fails."""
    try:
        while True:
            inbox.put_nowait(await source())
    except Exception as error:
        inbox.put_nowait(_Failed(error))
