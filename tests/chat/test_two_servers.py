"""With Redis, a reply written by one Daphne process is followed and stopped from another."""
import asyncio
import json

import aiohttp
import pytest

from chat.models import Message
from tests.factories import make_conversation, make_user
from tests.servers import PrivateRedis, free_port, logged_in_cookie, start_daphne, stop

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.glm]


async def _next(ws, frame_type, timeout=20):
    frames = []
    while True:
        frames.append(json.loads((await ws.receive(timeout=timeout)).data))
        if frames[-1]["type"] == frame_type:
            return frames


async def _scenario(ports, cookies, conversation_id):
    first_url, second_url = (f"ws://127.0.0.1:{port}/ws/chat/{conversation_id}/" for port in ports)
    async with aiohttp.ClientSession(cookies=cookies) as http:
        async with http.ws_connect(first_url, headers={"Origin": f"http://127.0.0.1:{ports[0]}"}) as writer_tab:
            await _next(writer_tab, "history")
            await writer_tab.send_str(json.dumps({"type": "send", "text": "across servers [[glm-len:400]] [[glm-slow:20]]"}))
            for _ in range(10):
                await _next(writer_tab, "delta")
            async with http.ws_connect(second_url, headers={"Origin": f"http://127.0.0.1:{ports[1]}"}) as other_tab:
                history = (await _next(other_tab, "history"))[-1]
                live = history["messages"][-1]
                more = await _next(other_tab, "delta")
                await other_tab.send_str(json.dumps({"type": "stop"}))
                done = (await _next(other_tab, "done"))[-1]
            writer_done = (await _next(writer_tab, "done"))[-1]
    return live, more, done, writer_done


def test_a_reply_is_followed_and_stopped_from_another_server_process(emulator, tmp_path):
    user = make_user()
    conversation = make_conversation(user, title="named", title_is_custom=True)
    redis = PrivateRedis(tmp_path / "redis").start()
    ports = (free_port(), free_port())
    servers = [
        start_daphne(emulator=emulator, port=port, log_path=tmp_path / f"daphne-{port}.log", REDIS_URL=redis.url)
        for port in ports
    ]
    try:
        live, more, done, writer_done = asyncio.run(_scenario(ports, logged_in_cookie(user), conversation.pk))
    finally:
        for server in servers:
            stop(server)
        redis.stop()
    assert live["status"] == "streaming" and live["text"], "the other process's snapshot holds the text so far"
    assert any(f["type"] == "delta" and f["message_id"] == live["id"] for f in more)
    assert done["status"] == "stopped" and writer_done["status"] == "stopped"
    reply = Message.objects.get(pk=live["id"])
    assert reply.status == "stopped" and reply.text == done["text"] and reply.text.startswith(live["text"])
    assert len(reply.text) < 1500, "stopped well before the end"
