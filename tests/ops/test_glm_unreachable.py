"""The GLM endpoint hanging or unreachable: timeouts bound every call, the person is told
clearly, the reply is saved as failed, the upstream connection is let go and the socket can
start the next reply at once."""
import socket
import time

import pytest
from channels.db import database_sync_to_async

from chat import replies
from chat.models import Message
from tests.chat.socket_client import ChatSocket
from tests.factories import make_conversation, make_user
from tests.ops.processes import closed_port

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.glm]


@pytest.fixture
def owner(db):
    return make_user("gina")


@pytest.fixture
def conversation(owner):
    return make_conversation(owner)


@pytest.fixture
def fast_failing(settings):
    settings.GLM_CONNECT_TIMEOUT = 0.5
    settings.GLM_READ_TIMEOUT = 0.5
    settings.GLM_MAX_RETRIES = 1
    return settings


async def send_and_wait(socket, text, timeout=15):
    await socket.send({"type": "send", "text": text})
    frames = await socket.receive_until("done", timeout=timeout)
    await replies.wait_for_replies(timeout=timeout)
    return frames


async def assert_failed_cleanly(socket, frames, *, code, words):
    """The reply ended as a stored error the person can read, and nothing is left running."""
    done = frames[-1]
    assert done["status"] == "error" and done["error"]["code"] == code
    assert words in done["error"]["message"]
    assert any(f["type"] == "error" and f["code"] == code for f in frames)
    reply = next(f["message"] for f in frames if f["type"] == "message" and f["message"]["role"] == "assistant")
    stored = await database_sync_to_async(Message.objects.get)(pk=reply["id"])
    assert stored.status == "error" and stored.error_code == code
    assert replies.running_replies() == set(), "no runner is left waiting on GLM"


async def test_a_hanging_endpoint_times_out_and_the_person_is_told(owner, conversation, emulator, fast_failing):
    emulator.reset()
    async with ChatSocket(owner, conversation.pk) as socket:
        await socket.receive()
        started = time.monotonic()
        frames = await send_and_wait(socket, "are you there? [[glm-hang]]")
        elapsed = time.monotonic() - started
        await assert_failed_cleanly(socket, frames, code="timeout", words="did not answer in time")

        # Two attempts of 0.5 s and one pause of at most 0.5 s, with room for a busy machine.
        assert elapsed < 6
        assert any(f["type"] == "status" and f["state"] == "retrying" for f in frames)
        hung = [r for r in emulator.requests() if "are you there?" in (r.get("last_user_text") or "")]
        assert len(hung) == 2, "the first try and one retry"

        # The socket is free for the next reply, which works once the endpoint answers.
        fast_failing.GLM_READ_TIMEOUT = 30
        frames = await send_and_wait(socket, "and now? [[glm-len:5]]")
        assert frames[-1]["status"] == "complete"

    # The abandoned requests were closed on the emulator's side too: no upstream slot is held.
    deadline = time.monotonic() + 5
    while not all(r["client_disconnected"] for r in hung) and time.monotonic() < deadline:
        time.sleep(0.1)
        hung = [r for r in emulator.requests() if "are you there?" in (r.get("last_user_text") or "")]
    assert all(r["finished"] and r["client_disconnected"] for r in hung)


async def test_a_closed_port_fails_fast_with_a_connection_error(owner, conversation, fast_failing):
    fast_failing.ZHIPUAI_API_KEY = "any-id.any-secret"
    fast_failing.ZHIPUAI_BASE_URL = f"http://127.0.0.1:{closed_port()}/api/paas/v4"
    async with ChatSocket(owner, conversation.pk) as socket:
        await socket.receive()
        started = time.monotonic()
        frames = await send_and_wait(socket, "anyone?")
        await assert_failed_cleanly(socket, frames, code="connection_error", words="could not reach it")
        assert time.monotonic() - started < 5


async def test_a_connection_that_never_opens_is_bounded_by_the_connect_timeout(owner, conversation, fast_failing):
    # A listener whose accept queue is full: the kernel drops further SYNs, so connecting
    # hangs exactly like an unreachable host.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    fillers = []
    try:
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(listener.getsockname())
            fillers.append(filler)
        time.sleep(0.1)
        fast_failing.ZHIPUAI_API_KEY = "any-id.any-secret"
        fast_failing.ZHIPUAI_BASE_URL = f"http://127.0.0.1:{listener.getsockname()[1]}/api/paas/v4"
        fast_failing.GLM_READ_TIMEOUT = 30  # only the connect timeout can end this
        async with ChatSocket(owner, conversation.pk) as chat:
            await chat.receive()
            started = time.monotonic()
            frames = await send_and_wait(chat, "hello?")
            await assert_failed_cleanly(chat, frames, code="timeout", words="did not answer in time")
            assert time.monotonic() - started < 6
    finally:
        for filler in fillers:
            filler.close()
        listener.close()
