"""The embedded default's channel layer (glmweb/channel_layer.py) behaves as Channels' own."""
import asyncio
from decimal import Decimal

from channels.exceptions import ChannelFull

from glmweb.channel_layer import LocalChannelLayer, copy_event


def test_each_member_of_a_group_gets_its_own_copy_of_the_event():
    async def scenario():
        layer = LocalChannelLayer()
        first, second = await layer.new_channel(), await layer.new_channel()
        await layer.group_add("chat.conversation.1", first)
        await layer.group_add("chat.conversation.1", second)
        event = {"type": "chat.message", "message": {"id": 7, "text": "hi", "attachments": [{"id": 1}]}}
        await layer.group_send("chat.conversation.1", event)
        got_first, got_second = await layer.receive(first), await layer.receive(second)
        got_first["message"]["attachments"].append({"id": 2})
        got_first["message"]["text"] = "changed"
        return event, got_first, got_second

    event, got_first, got_second = asyncio.run(scenario())
    assert got_second == event == {"type": "chat.message", "message": {"id": 7, "text": "hi", "attachments": [{"id": 1}]}}
    assert got_first["message"] == {"id": 7, "text": "changed", "attachments": [{"id": 1}, {"id": 2}]}


def test_a_full_member_misses_the_event_and_the_others_still_get_it():
    async def scenario():
        layer = LocalChannelLayer(capacity=1)
        full, free = await layer.new_channel(), await layer.new_channel()
        await layer.group_add("g", full)
        await layer.group_add("g", free)
        await layer.send(full, {"type": "first"})
        await layer.group_send("g", {"type": "second"})
        return await layer.receive(full), await layer.receive(free)

    assert asyncio.run(scenario()) == ({"type": "first"}, {"type": "second"})


def test_a_copy_shares_nothing_mutable_and_keeps_every_value():
    original = {"a": [1, {"b": (1, [2])}], "cost": Decimal("0.000100"), "none": None, "flag": True, "x": 1.5}
    copied = copy_event(original)
    assert copied == original
    assert copied["a"] is not original["a"] and copied["a"][1] is not original["a"][1]
    assert copied["a"][1]["b"][1] is not original["a"][1]["b"][1]


def test_a_waiting_receiver_gets_what_is_sent_later_and_a_read_channel_leaves_nothing_behind():
    async def scenario():
        layer = LocalChannelLayer()
        channel = await layer.new_channel()
        waiting = asyncio.create_task(layer.receive(channel))
        await asyncio.sleep(0)
        await layer.send(channel, {"type": "first"})
        await layer.send(channel, {"type": "second"})
        got = [await waiting]
        kept_while_unread = channel in layer.channels
        got.append(await layer.receive(channel))
        return got, kept_while_unread, channel in layer.channels

    got, kept_while_unread, kept_after = asyncio.run(scenario())
    assert got == [{"type": "first"}, {"type": "second"}]
    assert kept_while_unread and not kept_after


def test_a_channel_delivered_to_an_inbox_gets_its_events_there_in_order_up_to_the_capacity():
    async def scenario():
        layer = LocalChannelLayer(capacity=2)
        channel, other = await layer.new_channel(), await layer.new_channel()
        await layer.group_add("g", channel)
        await layer.group_add("g", other)
        inbox = asyncio.Queue()
        layer.deliver_to(channel, inbox)
        await layer.send(channel, {"type": "first"})
        await layer.group_send("g", {"type": "second"})
        await layer.group_send("g", {"type": "third"})  # the inbox is full: this one misses it
        full_refused = False
        try:
            await layer.send(channel, {"type": "fourth"})
        except ChannelFull:
            full_refused = True
        delivered = [inbox.get_nowait(), inbox.get_nowait()]
        layer.deliver_to(channel, None)  # back to the layer's own queue
        await layer.send(channel, {"type": "later"})
        return delivered, full_refused, inbox.empty(), await layer.receive(channel), [
            await layer.receive(other), await layer.receive(other)]

    delivered, full_refused, inbox_empty, later, other_got = asyncio.run(scenario())
    assert delivered == [{"type": "first"}, {"type": "second"}]
    assert full_refused and inbox_empty and later == {"type": "later"}
    assert other_got == [{"type": "second"}, {"type": "third"}]
