"""Redis restarted while a reply streams: the reply is written to the end and sockets that
reconnect carry on, with no restart of the app (a private redis-server, persistence on)."""
import asyncio
import json

import aiohttp
import pytest

from chat.models import Message
from tests.factories import make_conversation, make_user
from tests.servers import PrivateRedis, free_port, logged_in_cookie, start_daphne, stop

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.glm]


async def _frames_until(ws, frame_type, timeout=30):
    frames = []
    while True:
        message = await ws.receive(timeout=timeout)
        if message.type != aiohttp.WSMsgType.TEXT:
            return frames, False
        frames.append(json.loads(message.data))
        if frames[-1]["type"] == frame_type:
            return frames, True


async def _scenario(port, cookies, conversation_id, redis: PrivateRedis):
    url = f"ws://127.0.0.1:{port}/ws/chat/{conversation_id}/"
    origin = {"Origin": f"http://127.0.0.1:{port}"}
    async with aiohttp.ClientSession(cookies=cookies) as http:
        async with http.ws_connect(url, headers=origin) as ws:
            await _frames_until(ws, "history")
            await ws.send_str(json.dumps({"type": "send", "text": "through the storm [[glm-len:150]] [[glm-slow:20]]"}))
            await _frames_until(ws, "delta")
            await asyncio.to_thread(redis.restart, 1.0)
            # This socket may or may not survive the restart; a browser reconnects either way.
        await asyncio.sleep(4)  # the reply (about 3 s) ends while we are away
        async with http.ws_connect(url, headers=origin) as ws:
            history, _ = await _frames_until(ws, "history")
            await ws.send_str(json.dumps({"type": "send", "text": "after the storm"}))
            frames, finished = await _frames_until(ws, "done")
    return history[-1], frames, finished


def test_a_reply_survives_a_redis_restart_and_the_site_keeps_working(emulator, tmp_path):
    user = make_user()
    conversation = make_conversation(user)
    redis = PrivateRedis(tmp_path / "redis").start()
    port = free_port()
    server = start_daphne(emulator=emulator, port=port, log_path=tmp_path / "daphne.log", REDIS_URL=redis.url)
    try:
        history, frames, finished = asyncio.run(_scenario(port, logged_in_cookie(user), conversation.pk, redis))
    finally:
        stop(server)
        redis.stop()
    first_reply = Message.objects.filter(conversation=conversation, role="assistant").order_by("id").first()
    assert first_reply.status == "complete" and first_reply.completion_tokens == 150
    assert "through the storm" in first_reply.text
    shown = history["messages"][1]
    assert shown["status"] == "complete" and shown["text"] == first_reply.text
    assert finished and frames[-1]["status"] == "complete", "the same server process works after the restart"
