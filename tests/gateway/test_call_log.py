"""Every GLM request leaves one line on the "glm" logger, and no line or repr carries a secret."""
from __future__ import annotations

import asyncio
import logging

import pytest

from glm.errors import GLMBalanceExhausted
from tests.gateway.conftest import TEST_API_KEY
from tests.gateway.sample_server import Canned

SECRET_PROMPT = "my bank PIN is 4921"


def glm_records(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "glm"]


def assert_nothing_secret(caplog) -> None:
    for record in caplog.records:
        line = record.getMessage() + repr(getattr(record, "glm", ""))
        assert TEST_API_KEY not in line and TEST_API_KEY.split(".")[1] not in line
        assert SECRET_PROMPT not in line and "土" not in line


async def test_each_stream_attempt_is_logged_with_model_status_request_id_latency_and_attempt(sample_server, contract_client, caplog):
    caplog.set_level(logging.INFO, logger="glm")
    sample_server.queue(Canned.error(429, "1302"), Canned.sample("stream_text.sse"))

    [event async for event in contract_client.stream_chat(model="glm-4.6", messages=[{"role": "user", "content": SECRET_PROMPT}])]

    first, second = (record.glm for record in glm_records(caplog))
    assert first["model"] == "glm-4.6" and first["attempt"] == 1 and first["outcome"] == "error"
    assert first["status"] == 429 and first["code"] == "1302"
    assert second["attempt"] == 2 and second["outcome"] == "ok" and second["status"] == 200
    assert second["request_id"] == "20251103162614ab25f9b375f8437a" and second["finish_reason"] == "stop"
    assert isinstance(second["latency_ms"], int) and second["latency_ms"] >= 0
    assert_nothing_secret(caplog)


async def test_a_stream_closed_by_its_consumer_is_logged_as_cancelled(sample_server, contract_client, caplog):
    caplog.set_level(logging.INFO, logger="glm")
    sample_server.queue(Canned.sample("stream_text.sse"))

    stream = contract_client.stream_chat(model="glm-4.6", messages=[{"role": "user", "content": SECRET_PROMPT}])
    await anext(stream)
    await stream.aclose()

    [record] = glm_records(caplog)
    assert record.glm["outcome"] == "cancelled"


async def test_sync_calls_are_logged_too(sample_server, contract_sync_client, caplog):
    caplog.set_level(logging.INFO, logger="glm")
    sample_server.queue(Canned.error(429, "1113"))

    with pytest.raises(GLMBalanceExhausted):
        await asyncio.to_thread(contract_sync_client.chat, model="glm-4.6", messages=[{"role": "user", "content": SECRET_PROMPT}])

    [record] = glm_records(caplog)
    assert record.glm["operation"] == "chat.complete" and record.glm["code"] == "1113" and record.glm["status"] == 429
    assert_nothing_secret(caplog)


def test_client_reprs_do_not_show_the_key(contract_client, contract_sync_client):
    assert TEST_API_KEY not in repr(contract_client)
    assert TEST_API_KEY not in repr(contract_sync_client)
