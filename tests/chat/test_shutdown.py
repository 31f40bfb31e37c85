"""Stopping Daphne lets the replies being written finish, or saves them as interrupted."""
import asyncio
import json
import signal

import aiohttp
import pytest

from chat.models import Message
from tests.factories import make_conversation, make_user
from tests.servers import free_port, logged_in_cookie, start_daphne

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.glm]


async def _stream_then_stop_server(server, port, cookies, conversation_id, text, deltas_before_stop):
    received = ""
    async with aiohttp.ClientSession(cookies=cookies) as http:
        async with http.ws_connect(
            f"ws://127.0.0.1:{port}/ws/chat/{conversation_id}/", headers={"Origin": f"http://127.0.0.1:{port}"}
        ) as ws:
            assert json.loads((await ws.receive(timeout=10)).data)["type"] == "history"
            await ws.send_str(json.dumps({"type": "send", "text": text}))
            seen = 0
            while seen < deltas_before_stop:
                frame = json.loads((await ws.receive(timeout=10)).data)
                if frame["type"] == "delta":
                    seen += 1
                    received += frame["text"]
            server.send_signal(signal.SIGTERM)
            # Keep reading until the server goes away, as a browser would.
            try:
                while True:
                    message = await ws.receive(timeout=30)
                    if message.type != aiohttp.WSMsgType.TEXT:
                        break
            except (asyncio.TimeoutError, aiohttp.ClientError):
                pass
    return received


@pytest.mark.parametrize(
    "text, grace_seconds, expected_status",
    [
        ("a long one [[glm-len:600]] [[glm-slow:25]]", 1.0, "interrupted"),
        ("a short one [[glm-len:60]] [[glm-slow:25]]", 10.0, "complete"),
    ],
)
def test_stopping_the_server_finishes_or_saves_the_reply(emulator, tmp_path, text, grace_seconds, expected_status):
    user = make_user()
    conversation = make_conversation(user)
    port = free_port()
    server = start_daphne(
        emulator=emulator, port=port, log_path=tmp_path / "daphne.log", CHAT_SHUTDOWN_GRACE_SECONDS=grace_seconds
    )
    try:
        received = asyncio.run(_stream_then_stop_server(server, port, logged_in_cookie(user), conversation.pk, text, 10))
        assert server.wait(timeout=40) is not None
    finally:
        if server.poll() is None:
            server.kill()
    reply = Message.objects.get(conversation=conversation, role="assistant")
    assert reply.status == expected_status
    assert reply.text.startswith(received) and len(reply.text) >= len(received) > 0
    if expected_status == "interrupted":
        assert reply.error_code == "interrupted" and reply.usage_estimated
    else:
        assert reply.completion_tokens == 60 and not reply.usage_estimated
