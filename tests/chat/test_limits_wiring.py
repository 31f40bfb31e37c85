"""The limits in front of the API: a model at its requests per minute makes a reply fail with
"model_busy" (the API never sees it), and a user over their own rate is refused."""
import uuid

import pytest
from channels.db import database_sync_to_async

from chat import replies
from chat.models import Message
from tests.chat.socket_client import ChatSocket
from tests.factories import make_conversation, make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.glm]


async def test_a_model_at_its_limit_is_busy_and_the_api_is_not_called(emulator, settings):
    settings.USAGE_MODEL_LIMITS_ENABLED = True
    settings.USAGE_MODEL_RPM = {"glm-4-flash": 1}
    settings.USAGE_MODEL_SLOT_WAIT_SECONDS = 0
    settings.USAGE_RATE_LIMIT_PREFIX = f"test-busy-{uuid.uuid4().hex}"
    owner = await database_sync_to_async(make_user)()
    conversation = await database_sync_to_async(make_conversation, thread_sensitive=True)(
        owner, title="named", title_is_custom=True
    )
    emulator.reset()
    async with ChatSocket(owner, conversation.pk) as socket:
        await socket.receive()
        await socket.send({"type": "send", "text": "first one"})
        first = (await socket.receive_until("done"))[-1]
        await replies.wait_for_replies()
        await socket.send({"type": "send", "text": "second one"})
        second = (await socket.receive_until("done"))[-1]
        await replies.wait_for_replies()
    assert first["status"] == "complete"
    assert second["status"] == "error" and second["error"]["code"] == "model_busy"
    assert [r["last_user_text"] for r in emulator.requests() if r["stream"]] == ["first one"]


async def test_a_user_over_their_rate_is_refused_and_nothing_is_stored(emulator, settings):
    settings.USAGE_USER_RPM = 1
    settings.USAGE_RATE_LIMIT_PREFIX = f"test-user-{uuid.uuid4().hex}"
    owner = await database_sync_to_async(make_user)()
    conversation = await database_sync_to_async(make_conversation)(owner, title="named", title_is_custom=True)
    async with ChatSocket(owner, conversation.pk) as socket:
        await socket.receive()
        await socket.send({"type": "send", "text": "one"})
        await socket.receive_until("done")
        await replies.wait_for_replies()
        await socket.send({"type": "send", "text": "two"})
        refused = await socket.receive_until("error")
    assert refused[-1]["code"] == "rate_limited" and refused[-1]["message"]
    texts = await database_sync_to_async(lambda: list(Message.objects.filter(role="user").values_list("text", flat=True)))()
    assert texts == ["one"]
