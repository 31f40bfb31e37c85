"""A socket's frames and channel-layer events reach its handlers through one queue
(glmweb/consumer_inbox.py), whichever layer is configured."""
import asyncio

import pytest
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from glmweb.consumer_inbox import InboxConsumerMixin

# Channels' dispatch closes stale database connections before each handler.
pytestmark = pytest.mark.django_db

LAYERS = {
    "local": {"BACKEND": "glmweb.channel_layer.LocalChannelLayer"},  # delivers to the inbox itself
    "channels": {"BACKEND": "channels.layers.InMemoryChannelLayer"},  # read by a pump
}


class EchoConsumer(InboxConsumerMixin, AsyncWebsocketConsumer):
    async def connect(self):
        await self.channel_layer.group_add("echo", self.channel_name)
        await self.accept()
        await self.send(text_data=self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        await asyncio.sleep(0.01)  # an event that arrives meanwhile waits its turn
        await self.send(text_data=f"frame {text_data}")

    async def echo_event(self, event):
        await self.send(text_data=f"event {event['text']}")

    async def disconnect(self, code):
        await self.channel_layer.group_discard("echo", self.channel_name)


def wrapped_receive(app):
    """A server whose receive is not a queue's get: the consumer pumps from it."""
    async def application(scope, receive, send):
        async def receive_wrapped():
            return await receive()
        return await app(scope, receive_wrapped, send)
    return application


# (layer, how the server hands over frames)
SETUPS = [("local", "queue"), ("channels", "queue"), ("local", "wrapped")]


@pytest.fixture(params=SETUPS, ids=["-".join(setup) for setup in SETUPS])
def setup(request, settings):
    settings.CHANNEL_LAYERS = LAYERS
    layer_alias, server = request.param
    EchoConsumer.channel_layer_alias = layer_alias
    app = EchoConsumer.as_asgi()
    yield layer_alias, (wrapped_receive(app) if server == "wrapped" else app)
    EchoConsumer.channel_layer_alias = "default"


def test_frames_and_events_are_handled_one_at_a_time_in_the_order_they_arrived(setup):
    layer_alias, app = setup

    async def scenario():
        layer = get_channel_layer(layer_alias)
        socket = WebsocketCommunicator(app, "/echo/")
        await socket.connect()
        channel = await socket.receive_from()
        await socket.send_to(text_data="one")
        await asyncio.sleep(0.001)
        await layer.group_send("echo", {"type": "echo.event", "text": "two"})
        await socket.send_to(text_data="three")
        await layer.send(channel, {"type": "echo.event", "text": "four"})
        got = [await socket.receive_from() for _ in range(4)]
        await socket.disconnect()
        # Once the socket has ended, its channel's events no longer go anywhere it reads.
        await layer.send(channel, {"type": "echo.event", "text": "after"})
        return got, await asyncio.wait_for(layer.receive(channel), 1)

    got, after = asyncio.run(scenario())
    # The event came while the first frame was handled: it waited for it, not ran beside it.
    assert got[:2] == ["frame one", "event two"]
    assert sorted(got[2:]) == ["event four", "frame three"]
    assert after == {"type": "echo.event", "text": "after"}


def test_a_failing_layer_ends_the_socket_as_it_would_in_channels(setup):
    layer_alias, app = setup

    class Broken(Exception):
        pass

    async def scenario():
        layer = get_channel_layer(layer_alias)
        socket = WebsocketCommunicator(app, "/echo/")

        async def failing_receive(channel):
            raise Broken()

        layer.receive = failing_receive
        layer.deliver_to = None  # no direct delivery: events are read through receive()
        with pytest.raises(Broken):  # not a socket left waiting for events that never come
            await socket.connect()
            while True:
                await socket.receive_output(1)

    asyncio.run(scenario())
