"""Logs carry a request id and a user id; every GLM call is logged with GLM's request id, the
model, the status and the latency; production writes one JSON object per line; no line holds
message text."""
import json
import logging
import re
import sys

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.urls import reverse

from chat import replies
from chat.routing import websocket_urlpatterns
from glmweb.json_logs import JsonFormatter
from glmweb.log_context import LogContextFilter, request_id_var, user_id_var
from glmweb.request_log import SocketLogContext
from glmweb.task_log_context import _bind_task_id
from tests.factories import make_conversation, make_user

SECRET_TEXT = "my secret plan number 4471"


@pytest.fixture
def log_records(caplog):
    caplog.set_level(logging.DEBUG)
    context = LogContextFilter()
    caplog.handler.addFilter(context)
    yield caplog
    caplog.handler.removeFilter(context)


def as_json(record) -> dict:
    line = JsonFormatter().format(record)
    assert "\n" not in line, "one object per line"
    return json.loads(line)


# --- the formatter ----------------------------------------------------------------------------


def test_a_record_becomes_one_json_line_with_only_the_chosen_fields():
    logger = logging.getLogger("glm")
    record = logger.makeRecord(
        "glm", logging.WARNING, __file__, 1, "glm %s failed", ("chat.stream",), None,
        extra={"glm": {"model": "glm-4-plus", "status": 429, "request_id": "2025abc", "latency_ms": 12},
               "request_id": "req-12345678", "user_id": 7, "prompt": SECRET_TEXT},
    )
    entry = as_json(record)
    assert entry["message"] == "glm chat.stream failed"
    assert entry["level"] == "WARNING" and entry["logger"] == "glm"
    assert entry["request_id"] == "req-12345678" and entry["user_id"] == 7
    assert entry["glm"] == {"model": "glm-4-plus", "status": 429, "request_id": "2025abc", "latency_ms": 12}
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$", entry["time"])
    assert SECRET_TEXT not in json.dumps(entry), "arbitrary extra fields are not shipped"


def test_a_traceback_stays_inside_the_one_line():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.getLogger("x").makeRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    entry = as_json(record)
    assert "ValueError: boom" in entry["exception"]


# --- HTTP requests ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_every_response_names_its_request_id_and_the_log_lines_carry_it(client, log_records):
    user = make_user("ivy")
    client.force_login(user)
    response = client.get(reverse("chat:home") + "?q=" + SECRET_TEXT.replace(" ", "+"))
    request_id = response["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    [line] = [r for r in log_records.records if r.name == "glmweb.request"]
    entry = as_json(line)
    assert entry["request_id"] == request_id and entry["user_id"] == user.pk
    assert entry["http"]["method"] == "GET" and entry["http"]["status"] == 200
    assert entry["http"]["path"] == "/" and isinstance(entry["http"]["duration_ms"], int)
    assert "secret" not in json.dumps(entry), "the query string (a search) is not logged"


@pytest.mark.django_db
def test_a_proxys_request_id_is_kept_and_a_malformed_one_replaced(client):
    proxied = client.get(reverse("login"), HTTP_X_REQUEST_ID="3f9c2a7d1e8b4c6a9f0e1d2c3b4a5968")
    assert proxied["X-Request-ID"] == "3f9c2a7d1e8b4c6a9f0e1d2c3b4a5968"
    forged = client.get(reverse("login"), HTTP_X_REQUEST_ID="x\nFAKE LOG LINE")
    assert re.fullmatch(r"[0-9a-f]{32}", forged["X-Request-ID"])


@pytest.mark.django_db
def test_the_health_check_is_logged_at_debug_only(client, log_records, settings):
    settings.ZHIPUAI_API_KEY = "k.s"
    client.get("/healthz")
    [line] = [r for r in log_records.records if r.name == "glmweb.request"]
    assert line.levelno == logging.DEBUG


@pytest.mark.django_db
def test_django_error_lines_after_the_middleware_still_name_the_request(client, log_records):
    user = make_user("ivy")
    client.force_login(user)
    response = client.get(reverse("chat:conversation", args=[987654]))
    assert response.status_code == 404
    [warning] = [r for r in log_records.records if r.name == "django.request"]
    assert as_json(warning)["request_id"] == response["X-Request-ID"]


# --- the chat socket and its GLM calls --------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.glm
async def test_each_glm_call_of_a_reply_is_logged_under_the_socket_and_its_user(log_records, emulator):
    user = await database_sync_to_async(make_user)("jack")
    conversation = await database_sync_to_async(make_conversation)(user)
    communicator = WebsocketCommunicator(
        SocketLogContext(URLRouter(websocket_urlpatterns)), f"/ws/chat/{conversation.pk}/",
        headers=[(b"x-request-id", b"sock-1234567890abcdef")],
    )
    communicator.scope["user"] = user
    await communicator.connect()
    await communicator.receive_json_from()
    await communicator.send_json_to({"type": "send", "text": f"{SECRET_TEXT} [[glm-len:12]]"})
    while (await communicator.receive_json_from(timeout=15))["type"] != "done":
        pass
    await replies.wait_for_replies()
    await communicator.disconnect()

    calls = [as_json(r) for r in log_records.records if r.name == "glm"]
    assert len(calls) >= 1
    reply = calls[0]
    assert reply["request_id"] == "sock-1234567890abcdef" and reply["user_id"] == user.pk
    assert reply["glm"]["model"] == "glm-4-flash" and reply["glm"]["status"] == 200
    assert reply["glm"]["outcome"] == "ok" and isinstance(reply["glm"]["latency_ms"], int)
    assert re.fullmatch(r"\d{14}[0-9a-f]{16}", reply["glm"]["request_id"]), "GLM's own request id"
    for record in log_records.records:
        assert SECRET_TEXT not in JsonFormatter().format(record), f"message text in a {record.name} line"


# --- Celery tasks -----------------------------------------------------------------------------


def test_a_celery_task_logs_under_its_task_id():
    request_token, user_token = request_id_var.set("stale"), user_id_var.set(5)
    try:
        _bind_task_id(task_id="0b8e6c6e-task")
        assert request_id_var.get() == "task-0b8e6c6e-task" and user_id_var.get() is None
    finally:
        request_id_var.reset(request_token)
        user_id_var.reset(user_token)
