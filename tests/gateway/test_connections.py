"""Connections to GLM opened ahead of their requests (glm/connections.py), counted where GLM
would see them: a TCP relay in front of the emulator."""
from __future__ import annotations

import asyncio

import pytest

from glm.events import Finish
from glm.stream import AsyncChatClient
from tests.counting_relay import CountingRelay, settle
from tests.gateway.conftest import fast_retry


async def reply(client: AsyncChatClient) -> Finish:
    events = [event async for event in client.stream_chat(model="glm-4-flash", messages=[{"role": "user", "content": "hi"}])]
    return events[-1]


@pytest.fixture
async def relay_and_client(request, clean_emulator):
    relay = CountingRelay(clean_emulator.base_url, cut_first=getattr(request, "param", False))
    url = await relay.start()
    client = AsyncChatClient(api_key=clean_emulator.api_key, base_url=url, retry=fast_retry(), read_timeout=5.0)
    yield relay, client
    await client.aclose()
    await relay.stop()


async def test_requests_take_the_connections_opened_ahead_and_open_none_of_their_own(relay_and_client):
    relay, client = relay_and_client
    client.prepare_connections(2)
    await settle(relay, 2)
    assert relay.accepted == 2  # open before any request
    finishes = await asyncio.gather(reply(client), reply(client))
    assert all(finish.usage is not None for finish in finishes)
    assert relay.accepted == 2


async def test_a_finished_stream_leaves_its_connection_for_the_next_request(relay_and_client):
    relay, client = relay_and_client
    for _ in range(3):
        await reply(client)
    assert relay.accepted == 1


async def test_nothing_is_opened_ahead_while_an_idle_connection_waits(relay_and_client):
    relay, client = relay_and_client
    await reply(client)  # its connection stays open, idle, for the next request
    client.prepare_connections(1)
    await reply(client)
    assert relay.accepted == 1


async def test_a_request_waits_for_a_connection_still_being_opened_rather_than_open_another(relay_and_client):
    relay, client = relay_and_client
    client.prepare_connections(2)  # neither connected yet when the request comes
    await reply(client)
    await settle(relay, 3)
    assert relay.accepted == 2  # the request took one of the two, and opened no third


async def test_pooled_connections_glm_has_closed_do_not_stop_connections_being_opened_ahead(relay_and_client):
    relay, client = relay_and_client
    await reply(client)  # its connection waits in the pool
    relay.cut_all()  # then GLM ends it, as it ends idle keep-alive connections
    await asyncio.sleep(0.05)
    client.prepare_connections(1)
    await settle(relay, 2)
    assert relay.accepted == 2  # a new one, opened ahead
    await reply(client)
    assert relay.accepted == 2


@pytest.mark.parametrize("relay_and_client", [True], indirect=True)
async def test_a_connection_cut_while_it_waited_is_replaced_unseen(relay_and_client):
    relay, client = relay_and_client
    client.prepare_connections(1)
    await settle(relay, 1)
    await asyncio.sleep(0.05)  # the relay has closed it by now
    finish = await reply(client)
    assert finish.usage is not None and relay.accepted == 2


async def test_closing_the_client_closes_the_connections_opened_ahead(relay_and_client):
    relay, client = relay_and_client
    client.prepare_connections(2)
    await settle(relay, 2)
    await asyncio.sleep(0.05)
    await client.aclose()
    for _ in range(100):
        if relay.closed_by_client == 2:
            break
        await asyncio.sleep(0.01)
    assert relay.closed_by_client == 2
