"""A chat socket client for tests: the real consumer behind Channels' test communicator."""
from __future__ import annotations

import asyncio
import json

from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from chat.routing import websocket_urlpatterns


class ChatSocket:
    def __init__(self, user, conversation_id, *, language="en"):
        self.communicator = WebsocketCommunicator(
            URLRouter(websocket_urlpatterns),
            f"/ws/chat/{conversation_id}/",
            headers=[(b"accept-language", language.encode())],
        )
        self.communicator.scope["user"] = user

    async def __aenter__(self):
        connected, _ = await self.communicator.connect()
        assert connected
        return self

    async def __aexit__(self, *exc):
        await self.communicator.disconnect()

    async def send(self, frame):
        await self.communicator.send_to(text_data=json.dumps(frame) if not isinstance(frame, str) else frame)

    async def receive(self, timeout=10):
        return json.loads(await self.communicator.receive_from(timeout=timeout))

    async def receive_until(self, frame_type, timeout=15, **match):
        """Collect frames up to and including the first of frame_type matching the fields."""
        frames = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            frame = await self.receive(timeout=max(0.1, deadline - loop.time()))
            frames.append(frame)
            if frame["type"] == frame_type and all(frame.get(k) == v for k, v in match.items()):
                return frames

    async def closed_with(self, timeout=5):
        output = await self.communicator.receive_output(timeout)
        assert output["type"] == "websocket.close", output
        return output.get("code")


def reply_text(frames, message_id) -> str:
    """The reply as a client assembles it from delta frames, placing each at its offset.

    With the Redis channel layer, events published in the same instant may arrive out of
    order, so a client orders deltas by offset; the pieces must still tile the text exactly.
    """
    text = ""
    deltas = sorted(
        (f for f in frames if f["type"] == "delta" and f["message_id"] == message_id), key=lambda f: f["offset"]
    )
    for frame in deltas:
        assert frame["offset"] == len(text), "deltas tile the reply with no gap or overlap"
        text += frame["text"]
    return text
