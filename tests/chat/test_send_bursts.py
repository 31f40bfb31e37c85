"""Messages sent at the same moment are stored together, each as it would have been alone."""
from __future__ import annotations

from decimal import Decimal

import pytest
from channels.db import database_sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat import replies
from chat.models import Message
from chat.refusals import ChatRefused
from chat.services import NewMessage, ReplyStart, reply_to_new_messages
from tests.chat.socket_client import ChatSocket
from tests.counting_relay import CountingRelay
from tests.factories import make_conversation, make_user
from tests.usage.factories import make_usage_record


def new_message(conversation, text="hello", number=0):
    return NewMessage(conversation_id=conversation.pk, text=text, runner_channel=f"specific.test!{number}")


@pytest.mark.django_db
def test_each_message_of_a_burst_gets_what_it_would_alone(settings):
    settings.USAGE_DEFAULT_MONTHLY_BUDGET = Decimal("1")
    fine = make_conversation(make_user("fine"))
    spender = make_user("spender")
    make_usage_record(spender, cost="0.99")
    expensive = make_conversation(spender, model="glm-5")  # its estimate is over what is left
    busy = make_conversation(make_user("busy"))
    Message.objects.create(conversation=busy, role=Message.Role.ASSISTANT, status=Message.Status.STREAMING)
    twice = make_conversation(make_user("twice"))
    silent = make_conversation(make_user("silent"))

    outcomes = reply_to_new_messages([
        new_message(fine, "first", 0),
        new_message(expensive, "an expensive question", 1),
        new_message(busy, "while a reply is written", 2),
        new_message(twice, "one", 3),
        new_message(twice, "two, at the same moment", 4),
        new_message(silent, "   ", 5),
        NewMessage(conversation_id=987654, text="nowhere", runner_channel="specific.test!6"),
    ])

    assert isinstance(outcomes[0], ReplyStart) and isinstance(outcomes[3], ReplyStart)
    assert [o.code for o in outcomes if isinstance(o, ChatRefused)] == ["budget", "busy", "busy", "empty", "not_found"]
    for start, conversation, text in ((outcomes[0], fine, "first"), (outcomes[3], twice, "one")):
        stored = list(Message.objects.filter(conversation=conversation).order_by("id"))
        assert [(m.role, m.text, m.status) for m in stored] == [("user", text, "complete"), ("assistant", "", "streaming")]
        assert (start.user_message.pk, start.reply.pk) == (stored[0].pk, stored[1].pk)
        assert start.job.message_id == start.reply.pk and start.job.first_exchange
        assert start.job.messages[-1] == {"role": "user", "content": text}
    assert not Message.objects.filter(conversation=expensive).exists(), "a refused message leaves nothing"
    assert Message.objects.filter(conversation=busy).count() == 1


@pytest.mark.django_db
def test_a_burst_costs_the_same_queries_however_many_messages_it_holds():
    def queries_for(count):
        conversations = [make_conversation(make_user(f"u{count}-{n}")) for n in range(count)]
        with CaptureQueriesContext(connection) as captured:
            outcomes = reply_to_new_messages([new_message(c, number=n) for n, c in enumerate(conversations)])
        assert all(isinstance(o, ReplyStart) for o in outcomes)
        return len(captured.captured_queries)

    assert queries_for(2) == queries_for(20)


@pytest.mark.django_db(transaction=True)
@pytest.mark.glm
async def test_many_sockets_sending_at_once_each_get_their_whole_reply(emulator):
    def people(count):
        return [(user, make_conversation(user)) for user in (make_user(f"sender{n}") for n in range(count))]

    senders = await database_sync_to_async(people)(12)
    sockets = [ChatSocket(user, conversation.pk) for user, conversation in senders]
    for socket in sockets:
        await socket.__aenter__()
        await socket.receive()  # history
    try:
        # One after another, without waiting in between: the consumers read them in the same
        # moment. (Channels' test communicator patches a module global while it sends or
        # receives, so its calls must not overlap: gathered, they leave the patch in place.)
        for n, socket in enumerate(sockets):
            await socket.send({"type": "send", "text": f"message {n} [[glm-len:20]]"})
        finished = [await socket.receive_until("done", timeout=30) for socket in sockets]
        await replies.wait_for_replies()
    finally:
        for socket in sockets:
            await socket.__aexit__()

    for n, frames in enumerate(finished):
        user_frame = next(f["message"] for f in frames if f["type"] == "message" and f["message"]["role"] == "user")
        assert user_frame["text"] == f"message {n} [[glm-len:20]]"
        assert frames[-1]["status"] == "complete" and frames[-1]["usage"]["completion_tokens"] == 20
    stored = await database_sync_to_async(
        lambda: sorted(Message.objects.filter(role="assistant").values_list("status", flat=True))
    )()
    assert stored == ["complete"] * 12


@pytest.mark.django_db(transaction=True)
@pytest.mark.glm
async def test_a_burst_opens_one_connection_to_glm_per_reply_and_a_later_send_reuses_them(emulator, settings):
    relay = CountingRelay(emulator.base_url)
    settings.ZHIPUAI_BASE_URL = await relay.start()  # the site's client is made on first use, after this

    def people(count):
        return [(user, make_conversation(user)) for user in (make_user(f"burst{n}") for n in range(count))]

    senders = await database_sync_to_async(people)(5)
    sockets = [ChatSocket(user, conversation.pk) for user, conversation in senders]
    try:
        for socket in sockets:
            await socket.__aenter__()
            await socket.receive()  # history
        for n, socket in enumerate(sockets[:4]):
            await socket.send({"type": "send", "text": f"burst {n}"})
        for socket in sockets[:4]:
            await socket.receive_until("done", timeout=30)
        await replies.wait_for_replies()  # and their titles
        after_burst = relay.accepted
        await sockets[4].send({"type": "send", "text": "later, alone"})
        await sockets[4].receive_until("done", timeout=30)
        await replies.wait_for_replies()
    finally:
        for socket in sockets:
            await socket.__aexit__()
        await relay.stop()

    assert after_burst == 4  # opened while the messages were stored, one each, none to spare
    assert relay.accepted == 4  # the lone send found them idle and opened nothing ahead
