"""The GLM API key never reaches a browser, a page, a WebSocket frame, an error message, the
database rows a page shows, or a log line — in a normal reply, with a wrong key (the API
answers 401) and with the model busy until the retries are exhausted (429/1302).

The keys are distinctive, so any appearance of either half is a leak; every logger is
captured at DEBUG, the SDKs' included.
"""
import logging

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from django.urls import reverse

from chat import replies
from chat.glm_client import forget_clients
from chat.models import Message
from glm.emulator.testing import RunningEmulator
from glmweb.json_logs import JsonFormatter
from glmweb.log_context import LogContextFilter
from tests.chat.socket_client import ChatSocket
from tests.factories import make_conversation, make_user
from usage.models import UsageRecord

pytestmark = pytest.mark.django_db(transaction=True)

SITE_KEY = "LeakProbeId7f3a9c.Zq9xW2vB8nR4tY6uP1sKmEhN"
WRONG_KEY = "WrongProbeId41c9d.Hm3pL7dQ2wE8rT5yU0iOaXcV"


def key_fragments() -> list[str]:
    fragments = []
    for key in (SITE_KEY, WRONG_KEY):
        key_id, secret = key.split(".")
        fragments += [key, key_id, secret]
    return fragments


@pytest.fixture(scope="module")
def keyed_emulator():
    with RunningEmulator(api_key=SITE_KEY) as running:
        yield running


@pytest.fixture
def site(settings, keyed_emulator):
    settings.ZHIPUAI_API_KEY = SITE_KEY
    settings.ZHIPUAI_BASE_URL = keyed_emulator.base_url
    settings.GLM_MAX_RETRIES = 1
    return settings


@pytest.fixture
def every_log_line(caplog):
    """Every record of every logger, at DEBUG, including loggers that do not propagate."""
    caplog.set_level(logging.DEBUG)
    detached = []
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger):
            caplog.set_level(logging.DEBUG, logger=name)
            if not logger.propagate:
                logger.addHandler(caplog.handler)
                detached.append(logger)
    context = LogContextFilter()
    caplog.handler.addFilter(context)
    yield caplog
    caplog.handler.removeFilter(context)
    for logger in detached:
        logger.removeHandler(caplog.handler)


def rendered(record: logging.LogRecord) -> str:
    """Everything a handler could write about the record, in every form we ship."""
    parts = [record.getMessage(), repr(record.__dict__), JsonFormatter().format(record)]
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    return "\n".join(parts)


async def chat_once(owner, conversation, text) -> list[dict]:
    """Send one message, take every frame to the end of the reply, then reconnect for the
    history a reloaded page would get."""
    async with ChatSocket(owner, conversation.pk) as socket:
        frames = [await socket.receive()]
        await socket.send({"type": "send", "text": text})
        frames += await socket.receive_until("done", timeout=30)
        await replies.wait_for_replies()
    async with ChatSocket(owner, conversation.pk) as socket:
        frames.append(await socket.receive())
    return frames


def pages_and_rows(owner, conversation) -> list[str]:
    """What the browser is shown over HTTP, and what the database keeps for the pages."""
    browser = Client()
    browser.force_login(owner)
    urls = [reverse("chat:home") + "?q=hello", reverse("chat:conversation", args=[conversation.pk]),
            reverse("chat:conversation_list_api"), reverse("healthz"), reverse("images:gallery"),
            reverse("usage:spend"), reverse("usage:user_spend", args=[owner.pk]), reverse("admin:index")]
    responses = [browser.get(url) for url in urls]
    assert [r.status_code for r in responses] == [200] * len(urls), urls
    shown = [r.content.decode() for r in responses]
    shown += [repr(row) for row in Message.objects.values()]
    shown += [repr(row) for row in UsageRecord.objects.values()]
    return shown


def assert_no_key_in(texts, where):
    for text in texts:
        for fragment in key_fragments():
            assert fragment not in text, f"the API key leaked into {where}: …{text[max(0, text.find(fragment) - 80):][:200]}…"


@pytest.mark.parametrize(
    "flow, text, expected_status, expected_code",
    [
        ("normal", "hello there [[glm-len:30]]", "complete", None),
        ("wrong key (401)", "hello again", "error", "401"),
        ("busy until retries run out (429)", "busy now [[glm-error:1302]]", "error", "1302"),
    ],
)
async def test_the_api_key_is_never_in_a_frame_page_row_or_log_line(
    site, every_log_line, flow, text, expected_status, expected_code
):
    owner = await database_sync_to_async(make_user)("keyholder", is_staff=True, is_superuser=True)
    conversation = await database_sync_to_async(make_conversation)(owner)
    if expected_code == "401":
        site.ZHIPUAI_API_KEY = WRONG_KEY
        forget_clients()

    frames = await chat_once(owner, conversation, text)

    done = next(f for f in frames if f["type"] == "done")
    assert done["status"] == expected_status, done
    assert (done["error"] or {}).get("code") == expected_code
    if expected_code:
        assert done["error"]["message"], "the person is told what went wrong"
    assert_no_key_in([repr(frame) for frame in frames], f"a WebSocket frame ({flow})")
    assert_no_key_in(await database_sync_to_async(pages_and_rows)(owner, conversation), f"a page or row ({flow})")
    records = every_log_line.records
    assert any(record.name == "glm" for record in records), "the GLM calls were logged and scanned"
    assert_no_key_in([rendered(record) for record in records], f"a log line ({flow})")
