"""/healthz: no login, no secrets, 200 when the database, channel layer, broker and GLM set-up
are usable, 503 naming the failed check when one is not — within a bounded time."""
import json
import os
import socket
import time

import pytest
from channels.layers import channel_layers

from tests.ops.processes import clean_env, closed_port, run_python

pytestmark = pytest.mark.django_db

USING_REDIS = bool(os.environ.get("REDIS_URL"))


@pytest.fixture
def configured(settings):
    settings.ZHIPUAI_API_KEY = "health-id.health-secret-7Hq2"
    return settings


def health(client):
    response = client.get("/healthz")
    return response.status_code, json.loads(response.content), response


def test_all_checks_pass_without_logging_in(client, configured):
    status, body, response = health(client)
    assert status == 200, body
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "channel_layer", "broker", "glm"}
    assert all(check["ok"] for check in body["checks"].values())
    assert body["checks"]["channel_layer"]["backend"] == ("redis" if USING_REDIS else "LocalChannelLayer")
    assert body["checks"]["broker"]["backend"] == ("redis" if USING_REDIS else "filesystem")
    assert body["checks"]["glm"] == {"ok": True, "configured": True, "offline_demo": False,
                                     "ms": body["checks"]["glm"]["ms"]}
    assert "no-store" in response["Cache-Control"]


def test_the_body_holds_no_secret_even_when_a_check_fails(client, configured):
    configured.CELERY_BROKER_URL = f"redis://:redis-pass-55x@127.0.0.1:{closed_port()}/0"
    status, _, response = health(client)
    text = response.content.decode()
    assert status == 503
    for secret in (configured.SECRET_KEY, configured.ZHIPUAI_API_KEY, "health-secret", "redis-pass-55x",
                   configured.ZHIPUAI_BASE_URL, str(configured.DATABASES["default"].get("PASSWORD") or "\0")):
        assert secret not in text


def test_only_get_and_head_are_answered(client, configured):
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


def test_an_unconfigured_glm_endpoint_is_reported(client, configured):
    configured.ZHIPUAI_API_KEY = ""
    status, body, _ = health(client)
    assert status == 503 and body["status"] == "unavailable"
    assert body["checks"]["glm"] == {"ok": False, "error": "not_configured", "ms": body["checks"]["glm"]["ms"]}
    assert body["checks"]["database"]["ok"] and body["checks"]["broker"]["ok"]


def test_a_dead_redis_channel_layer_is_reported(client, configured):
    configured.CHANNEL_LAYERS = {"default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [{"address": f"redis://127.0.0.1:{closed_port()}/0", "socket_timeout": 30}]},
    }}
    channel_layers.backends.clear()
    status, body, _ = health(client)
    assert status == 503
    assert body["checks"]["channel_layer"] == {"ok": False, "error": "ConnectionError",
                                               "ms": body["checks"]["channel_layer"]["ms"]}
    assert body["checks"]["database"]["ok"]


def test_a_dead_redis_broker_is_reported(client, configured):
    configured.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port()}/0"
    status, body, _ = health(client)
    assert status == 503 and body["checks"]["broker"]["ok"] is False
    assert body["checks"]["broker"]["error"] == "ConnectionError"


def test_a_filesystem_broker_whose_folders_cannot_be_written_is_reported(client, configured, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the queue folder should be")
    configured.CELERY_BROKER_URL = "filesystem://"
    configured.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(blocker / "queue"), "data_folder_out": str(blocker / "queue"),
        "processed_folder": str(tmp_path / "processed"),
    }
    status, body, _ = health(client)
    assert status == 503 and body["checks"]["broker"]["ok"] is False
    assert body["checks"]["broker"]["error"] in ("NotADirectoryError", "FileNotFoundError")


def test_a_service_that_accepts_but_never_answers_fails_within_the_timeout(client, configured):
    # A listening socket that is never read: Redis's PING waits on it forever.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        configured.HEALTHZ_TIMEOUT_SECONDS = 0.5
        configured.CELERY_BROKER_URL = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        started = time.monotonic()
        status, body, _ = health(client)
        elapsed = time.monotonic() - started
    finally:
        silent.close()
    assert status == 503 and body["checks"]["broker"]["ok"] is False
    assert body["checks"]["broker"]["error"] in ("timeout", "TimeoutError")
    assert elapsed < 3


def test_a_dead_database_is_reported_with_503_and_without_its_password(tmp_path):
    # The database is chosen at start-up, so this runs in a fresh interpreter.
    script = (
        "import django, json; django.setup();"
        "from django.test import Client;"
        "r = Client(HTTP_HOST='localhost').get('/healthz');"
        "print(json.dumps({'status': r.status_code, 'body': r.content.decode()}))"
    )
    env = clean_env(
        tmp_path,
        DATABASE_URL=f"postgres://glmweb:db-pass-31z@127.0.0.1:{closed_port()}/glmweb",
        ZHIPUAI_API_KEY="health-id.health-secret",
    )
    result = run_python("-c", script, env=env)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    body = json.loads(answer["body"])
    assert answer["status"] == 503
    assert body["checks"]["database"]["ok"] is False and body["checks"]["database"]["error"] == "OperationalError"
    assert body["checks"]["channel_layer"]["ok"] and body["checks"]["broker"]["ok"]
    assert "db-pass-31z" not in answer["body"] and "db-pass-31z" not in result.stderr
