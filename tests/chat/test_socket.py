"""The chat socket, end to end through the real consumer, the reply runner, the gateway and
the emulator over HTTP."""
import asyncio
from decimal import Decimal

import pytest
from channels.db import database_sync_to_async
from django.db import connection, reset_queries

from chat import replies
from glm.tokens import count_text_tokens
from chat.models import Message
from tests.chat.socket_client import ChatSocket, reply_text
from tests.factories import make_conversation, make_user
from usage.models import UsageRecord

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.glm]


@pytest.fixture
def owner(db):
    return make_user("alice")


@pytest.fixture
def conversation(owner):
    return make_conversation(owner)


async def _send_and_finish(socket, text):
    await socket.send({"type": "send", "text": text})
    frames = await socket.receive_until("done")
    messages = [f["message"] for f in frames if f["type"] == "message"]
    reply = next(m for m in messages if m["role"] == "assistant")
    return frames, reply, frames[-1]


async def test_history_comes_first_on_connect(owner, conversation):
    async with ChatSocket(owner, conversation.pk) as socket:
        history = await socket.receive()
    assert history == {
        "type": "history",
        "conversation": {"id": conversation.pk, "title": "", "model": "glm-4-flash"},
        "messages": [],
    }


async def test_sent_message_is_stored_and_reply_streams_token_by_token(owner, conversation, emulator):
    async with ChatSocket(owner, conversation.pk) as socket:
        await socket.receive()
        # Chunks 10 ms apart, as a model writes: each piece leaves as soon as it arrives.
        frames, reply, done = await _send_and_finish(socket, "Hello there [[glm-len:40]] [[glm-slow:10]]")
        await replies.wait_for_replies()

    user_frame = next(f["message"] for f in frames if f["type"] == "message" and f["message"]["role"] == "user")
    assert user_frame["text"] == "Hello there [[glm-len:40]] [[glm-slow:10]]"
    assert reply["status"] == "streaming" and reply["text"] == ""
    deltas = [f for f in frames if f["type"] == "delta"]
    assert 35 <= len(deltas) <= 40, "one delta per token piece (the last may trail the done frame)"
    streamed = done["text"]
    assert streamed.startswith(reply_text(frames, reply["id"]))
    assert "Hello there" in streamed
    assert done["status"] == "complete" and done["error"] is None
    assert done["usage"]["completion_tokens"] == 40 and done["usage"]["estimated"] is False

    stored = await database_sync_to_async(Message.objects.get)(pk=reply["id"])
    assert stored.text == streamed and stored.status == "complete"
    assert Decimal(done["cost"]) == stored.cost == Decimal("0")  # glm-4-flash is free


async def test_pieces_that_arrive_together_leave_together_in_order(owner, conversation, emulator):
    # No pause between chunks: they reach the server several to a read, as they do when it is
    # busy, and each read's pieces go out as one delta; the text is the same.
    async with ChatSocket(owner, conversation.pk) as socket:
        await socket.receive()
        frames, reply, done = await _send_and_finish(socket, "Hello there [[glm-len:300]]")
        await replies.wait_for_replies()

    deltas = [f for f in frames if f["type"] == "delta" and f["message_id"] == reply["id"]]
    assert 1 <= len(deltas) < 300
    assert [d["offset"] for d in deltas] == [sum(len(d["text"]) for d in deltas[:n]) for n in range(len(deltas))]
    assert "".join(d["text"] for d in deltas) == done["text"]
    assert done["usage"]["completion_tokens"] == 300


async def test_reply_is_billed_from_the_api_usage(owner, emulator):
    conversation = await database_sync_to_async(make_conversation)(owner, model="glm-5")
    async with ChatSocket(owner, conversation.pk) as socket:
        await socket.receive()
        _, reply, done = await _send_and_finish(socket, "price me [[glm-len:100]]")
        await replies.wait_for_replies()
    record = await database_sync_to_async(UsageRecord.objects.get)(message_id=reply["id"])
    expected = (Decimal(record.prompt_tokens) * 30 + Decimal(100) * 90) / Decimal(1_000_000)
    assert record.completion_tokens == 100 and record.exact
    assert record.cost == expected.quantize(Decimal("0.000001"))
    assert done["cost"] == str(record.cost)


async def test_stopped_reply_keeps_partial_text_and_is_billed_as_estimate(owner, conversation, emulator):
    emulator.reset()
    async with ChatSocket(owner, conversation.pk) as socket:
        await socket.receive()
        await socket.send({"type": "send", "text": "long one [[glm-len:400]] [[glm-slow:30]]"})
        frames = await socket.receive_until("delta")
        while sum(1 for f in frames if f["type"] == "delta") < 5:
            frames.append(await socket.receive())
        await socket.send({"type": "stop"})
        frames += await socket.receive_until("done")
        await replies.wait_for_replies()

    reply_id = next(f["message"]["id"] for f in frames if f["type"] == "message" and f["message"]["role"] == "assistant")
    done = frames[-1]
    assert done["status"] == "stopped"
    stored = await database_sync_to_async(Message.objects.get)(pk=reply_id)
    assert stored.status == "stopped"
    assert stored.text == done["text"] and 5 <= count_text_tokens(stored.text) < 400
    assert stored.text.startswith(reply_text(frames, reply_id))
    record = await database_sync_to_async(UsageRecord.objects.get)(message_id=reply_id)
    assert record.exact is False and done["usage"]["estimated"] is True
    # The upstream request was cancelled, not left running to the end.
    upstream = [r for r in emulator.requests() if "long one" in (r.get("last_user_text") or "")]
    assert upstream[-1]["client_disconnected"] is True
    assert upstream[-1]["chunks_sent"] < 100


async def test_reply_survives_the_socket_closing(owner, conversation, emulator):
    async with ChatSocket(owner, conversation.pk) as socket:
        await socket.receive()
        await socket.send({"type": "send", "text": "keep going [[glm-len:60]] [[glm-slow:5]]"})
        await socket.receive_until("delta")
    # The tab is gone; the reply carries on in the server.
    await replies.wait_for_replies()
    reply = await database_sync_to_async(
        lambda: Message.objects.filter(conversation=conversation, role="assistant").get()
    )()
    assert reply.status == "complete" and reply.completion_tokens == 60
    assert "keep going" in reply.text


async def test_a_second_tab_joining_mid_reply_sees_the_text_so_far_then_the_rest(owner, conversation, emulator):
    async with ChatSocket(owner, conversation.pk) as first:
        await first.receive()
        await first.send({"type": "send", "text": "share this [[glm-len:120]] [[glm-slow:10]]"})
        first_frames = await first.receive_until("delta")
        while sum(1 for f in first_frames if f["type"] == "delta") < 20:
            first_frames.append(await first.receive())
        async with ChatSocket(owner, conversation.pk) as second:
            history = await second.receive()
            live = history["messages"][-1]
            assert live["status"] == "streaming" and live["text"], "the snapshot holds the text so far"
            later = await second.receive_until("done")
        first_frames += await first.receive_until("done")
        await replies.wait_for_replies()

    text = live["text"]
    deltas = sorted((f for f in later if f["type"] == "delta"), key=lambda f: f["offset"])
    for frame in deltas:
        if frame["offset"] + len(frame["text"]) <= len(text):
            continue  # already in the snapshot
        assert frame["offset"] <= len(text), "nothing between the snapshot and the deltas is lost"
        text = text[: frame["offset"]] + frame["text"]
    final = later[-1]["text"]
    assert final == first_frames[-1]["text"]
    assert final.startswith(text) and final.startswith(reply_text(first_frames, live["id"]))
    text = final
    stored = await database_sync_to_async(Message.objects.get)(pk=live["id"])
    assert stored.text == text


async def test_query_count_does_not_grow_with_reply_length(owner, emulator, settings):
    # Progress is flushed by time, not by token; a long interval keeps a slow machine from
    # adding a timed flush to one run and not the other.
    settings.CHAT_FLUSH_INTERVAL_SECONDS = 60
    async def queries_for(length):
        conversation = await database_sync_to_async(make_conversation)(owner)
        async with ChatSocket(owner, conversation.pk) as socket:
            await socket.receive()
            await database_sync_to_async(_start_counting)()
            await socket.send({"type": "send", "text": f"count me [[glm-len:{length}]]"})
            await socket.receive_until("done")
            await replies.wait_for_replies()
            return await database_sync_to_async(_stop_counting)()

    short, long = await queries_for(5), await queries_for(1500)
    assert short == long


def _start_counting():
    connection.force_debug_cursor = True
    reset_queries()


def _stop_counting():
    count = len([q for q in connection.queries if "conversation" in q["sql"].lower() or "message" in q["sql"].lower()])
    connection.force_debug_cursor = False
    return count


async def test_regenerate_replaces_the_last_reply(owner, conversation, emulator):
    async with ChatSocket(owner, conversation.pk) as socket:
        await socket.receive()
        _, first_reply, _ = await _send_and_finish(socket, "once more")
        await replies.wait_for_replies()
        await socket.send({"type": "regenerate"})
        frames = await socket.receive_until("done")
        await replies.wait_for_replies()
    assert {"type": "deleted", "message_ids": [first_reply["id"]]} in frames
    roles = await database_sync_to_async(
        lambda: list(Message.objects.filter(conversation=conversation).values_list("role", "status"))
    )()
    assert roles == [("user", "complete"), ("assistant", "complete")]


async def test_editing_a_message_replaces_everything_after_it(owner, conversation, emulator):
    async with ChatSocket(owner, conversation.pk) as socket:
        await socket.receive()
        first_frames, _, _ = await _send_and_finish(socket, "first question")
        await replies.wait_for_replies()
        await _send_and_finish(socket, "second question")
        await replies.wait_for_replies()
        first_id = next(f["message"]["id"] for f in first_frames if f["type"] == "message")
        await socket.send({"type": "edit", "message_id": first_id, "text": "better question"})
        frames = await socket.receive_until("done")
        await replies.wait_for_replies()
    deleted = next(f for f in frames if f["type"] == "deleted")
    assert len(deleted["message_ids"]) == 3
    texts = await database_sync_to_async(
        lambda: list(Message.objects.filter(conversation=conversation).values_list("role", "text"))
    )()
    assert texts[0] == ("user", "better question")
    assert len(texts) == 2 and "better question" in texts[1][1]


async def test_context_sent_to_the_model_holds_history_and_system_prompt(owner, emulator):
    conversation = await database_sync_to_async(make_conversation)(owner, system_prompt="Be brief.")
    async with ChatSocket(owner, conversation.pk) as socket:
        await socket.receive()
        await _send_and_finish(socket, "remember apples")
        await replies.wait_for_replies()
        emulator.reset()
        await _send_and_finish(socket, "what did I say?")
        await replies.wait_for_replies()
    chat_requests = [r for r in emulator.requests() if r["path"].endswith("chat/completions")]
    assert chat_requests[0]["message_count"] == 4  # system, user, assistant, user


async def test_glm_content_block_is_a_friendly_error_and_the_socket_stays_usable(owner, conversation, emulator):
    async with ChatSocket(owner, conversation.pk, language="zh-CN,zh;q=0.9") as socket:
        await socket.receive()
        frames, reply, done = await _send_and_finish(socket, "bad words [[glm-error:1301]]")
        error = next(f for f in frames if f["type"] == "error")
        await replies.wait_for_replies()
        _, _, later = await _send_and_finish(socket, "a clean question")
        await replies.wait_for_replies()
    assert done["status"] == "error" and done["error"]["code"] == "1301"
    assert error["code"] == "1301" and "Traceback" not in error["message"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error["message"]), "shown in the user's language"
    assert later["status"] == "complete"
    assert not await database_sync_to_async(UsageRecord.objects.filter(message_id=reply["id"]).exists)()


async def test_busy_model_is_retried_and_the_user_is_told(owner, conversation, emulator):
    async with ChatSocket(owner, conversation.pk) as socket:
        await socket.receive()
        frames, _, done = await _send_and_finish(socket, "retry me [[glm-error:1302#1]]")
        await replies.wait_for_replies()
    assert any(f["type"] == "status" and f["state"] == "retrying" for f in frames)
    assert done["status"] == "complete"


async def test_a_stream_cut_by_the_network_keeps_its_text_and_says_why(owner, conversation, emulator):
    async with ChatSocket(owner, conversation.pk) as socket:
        await socket.receive()
        frames, reply, done = await _send_and_finish(socket, "cut me [[glm-len:50]] [[glm-drop@10]]")
        await replies.wait_for_replies()
    assert done["status"] == "error" and done["error"]["message"]
    stored = await database_sync_to_async(Message.objects.get)(pk=reply["id"])
    assert stored.text == done["text"] and stored.text.startswith(reply_text(frames, reply["id"]))
    assert count_text_tokens(stored.text) == 10
    assert stored.usage_estimated is True


@pytest.mark.parametrize(
    "frame, code",
    [
        ("not json", "bad_json"),
        ('["a list"]', "bad_json"),
        ({"type": "dance"}, "unknown_type"),
        ({"type": "send"}, "missing_field"),
        ({"type": "send", "text": "   "}, "empty"),
        ({"type": "send", "text": "x" * 40_000}, "too_long"),
        ({"type": "send", "text": "hi", "attachments": [123]}, "not_found"),
        ({"type": "regenerate"}, "nothing_to_regenerate"),
        ({"type": "stop"}, "nothing_to_stop"),
        ({"type": "edit", "message_id": 999999, "text": "x"}, "not_found"),
    ],
)
async def test_bad_frames_are_refused_and_change_nothing(owner, conversation, frame, code):
    async with ChatSocket(owner, conversation.pk) as socket:
        await socket.receive()
        await socket.send(frame)
        answer = await socket.receive()
        assert answer["type"] == "error" and answer["code"] == code and answer["message"]
        # Still usable afterwards.
        await socket.send({"type": "dance"})
        assert (await socket.receive())["code"] == "unknown_type"
    assert not await database_sync_to_async(Message.objects.filter(conversation=conversation).exists)()


async def test_a_second_send_while_a_reply_streams_is_refused_as_busy(owner, conversation, emulator):
    async with ChatSocket(owner, conversation.pk) as socket:
        await socket.receive()
        await socket.send({"type": "send", "text": "slow [[glm-len:100]] [[glm-slow:20]]"})
        await socket.receive_until("delta")
        await socket.send({"type": "send", "text": "me too"})
        frames = await socket.receive_until("error")
        assert frames[-1]["code"] == "busy"
        await socket.send({"type": "stop"})
        await socket.receive_until("done")
        await replies.wait_for_replies()
    assert await database_sync_to_async(Message.objects.filter(conversation=conversation).count)() == 2


async def test_first_exchange_gets_an_automatic_title_billed_as_title(owner, conversation, emulator):
    async with ChatSocket(owner, conversation.pk) as socket:
        await socket.receive()
        await _send_and_finish(socket, "Plan a trip to Hangzhou")
        title = (await socket.receive_until("title"))[-1]["title"]
        await replies.wait_for_replies()
    assert "Hangzhou" in title and len(title) <= 60
    await database_sync_to_async(conversation.refresh_from_db)()
    assert conversation.title == title
    assert await database_sync_to_async(
        UsageRecord.objects.filter(kind="title", conversation=conversation, model="glm-4-flash").count
    )() == 1


async def test_other_users_cannot_open_stream_or_stop_a_conversation(owner, conversation):
    intruder = await database_sync_to_async(make_user)("mallory")
    socket = ChatSocket(intruder, conversation.pk)
    connected, _ = await socket.communicator.connect()
    assert connected
    assert await socket.closed_with() == 4404


async def test_anonymous_socket_is_closed(conversation):
    from django.contrib.auth.models import AnonymousUser

    socket = ChatSocket(AnonymousUser(), conversation.pk)
    await socket.communicator.connect()
    assert await socket.closed_with() == 4401


async def test_a_reply_whose_writer_died_is_shown_as_interrupted(owner, conversation):
    from datetime import timedelta

    from django.utils import timezone

    def orphan():
        Message.objects.create(conversation=conversation, role="user", text="hi")
        reply = Message.objects.create(
            conversation=conversation, role="assistant", text="half a", status="streaming", runner_channel="gone!x"
        )
        Message.objects.filter(pk=reply.pk).update(updated_at=timezone.now() - timedelta(minutes=5))
        return reply.pk

    reply_id = await database_sync_to_async(orphan)()
    async with ChatSocket(owner, conversation.pk) as socket:
        history = await socket.receive()
    shown = history["messages"][-1]
    assert shown["id"] == reply_id and shown["status"] == "interrupted" and shown["text"] == "half a"
    assert shown["error"]["code"] == "interrupted" and shown["error"]["message"]
