"""A chat request the user's monthly budget cannot cover never reaches the API."""
from decimal import Decimal

import pytest
from channels.db import database_sync_to_async

from chat.models import Message
from tests.chat.socket_client import ChatSocket
from tests.factories import make_conversation, make_user
from tests.usage.factories import make_usage_record

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.glm]


def _over_budget_user():
    owner = make_user("spender", password=None)
    make_usage_record(owner, cost="0.99")
    return owner, make_conversation(owner, model="glm-5")


async def test_an_over_budget_chat_request_is_refused_before_the_api_sees_it(emulator, settings):
    # glm-5's estimate for the default 4,096 output tokens alone is about ¥0.37: more than the ¥0.01 left.
    settings.USAGE_DEFAULT_MONTHLY_BUDGET = Decimal("1")
    owner, conversation = await database_sync_to_async(_over_budget_user)()
    emulator.reset()
    async with ChatSocket(owner, conversation.pk) as socket:
        await socket.receive()
        await socket.send({"type": "send", "text": "an expensive question [[glm-len:10]]"})
        frames = []
        while not frames or frames[-1]["type"] not in ("error", "done"):
            frames.append(await socket.receive(timeout=10))

    refusal = frames[-1]
    assert refusal["type"] == "error" and refusal["code"] == "budget", frames
    assert "¥0.99" in refusal["message"] and "¥1.00" in refusal["message"]
    assert not [r for r in emulator.requests() if "expensive question" in (r.get("last_user_text") or "")]
    stored = await database_sync_to_async(lambda: list(Message.objects.filter(conversation=conversation)))()
    assert stored == [], "a refused frame changes nothing"
