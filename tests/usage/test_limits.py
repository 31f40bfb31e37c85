"""Rate limits: per model under the manual's RPM table, per user by setting; counted in Redis
when configured and in the database otherwise, correct across processes either way."""
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django.utils import translation

from tests.factories import make_user
from tests.usage.child_processes import database_url
from usage import limits
from usage.limits import RateLimited, acquire_model_slot, acquire_model_slot_blocking, check_user_rate, model_rpm

BASE_DIR = Path(__file__).resolve().parents[2]


def test_model_limits_follow_the_manuals_table_for_the_tier(settings):
    settings.USAGE_MODEL_RPM = {}
    settings.GLM_RPM_TIER = "free"
    assert [model_rpm(m) for m in ("glm-4-flash", "glm-4-air", "glm-5")] == [10, 5, 5]
    settings.GLM_RPM_TIER = "paid"
    assert [model_rpm(m) for m in ("glm-4-flash", "glm-4-air", "GLM-5")] == [100, 60, 60]
    assert model_rpm("some-new-model") == 60


def test_each_model_limit_can_be_overridden(settings):
    settings.GLM_RPM_TIER = "free"
    settings.USAGE_MODEL_RPM = {"glm-5": 42}
    assert model_rpm("glm-5") == 42 and model_rpm("glm-4-air") == 5


@pytest.mark.django_db(transaction=True)
def test_a_model_admits_its_limit_per_minute_then_says_busy_without_waiting_in_vain(limiter_backend, settings):
    settings.USAGE_MODEL_RPM = {"glm-5": 3}
    for _ in range(3):
        acquire_model_slot_blocking(model="glm-5", wait_seconds=0)
    started = time.monotonic()
    with pytest.raises(RateLimited) as refused:
        acquire_model_slot_blocking(model="glm-5", wait_seconds=2)
    # The next slot frees in about a minute: more than the two seconds allowed, so no wait.
    assert time.monotonic() - started < 1
    assert refused.value.code == "model_busy" and 55 < refused.value.retry_after <= 60
    with translation.override("zh-hans"):
        assert "繁忙" in str(refused.value.message)
    acquire_model_slot_blocking(model="glm-4-air", wait_seconds=0)  # other models are counted apart


@pytest.mark.django_db(transaction=True)
async def test_a_request_waits_briefly_for_a_slot_that_frees_in_time(limiter_backend, settings, monkeypatch):
    settings.USAGE_MODEL_RPM = {"glm-5": 1}
    monkeypatch.setattr(limits, "WINDOW_SECONDS", 1)  # a one-second window keeps the test short
    await acquire_model_slot(model="glm-5", wait_seconds=0)
    taken_at = time.monotonic()
    with pytest.raises(RateLimited):
        await acquire_model_slot(model="glm-5", wait_seconds=0.1)  # the slot frees in ~1 s: too late
    await acquire_model_slot(model="glm-5", wait_seconds=3)
    assert time.monotonic() - taken_at > 0.5, "admitted only once the first request left the window"


@pytest.mark.django_db(transaction=True)
def test_a_user_over_their_requests_per_minute_is_refused(limiter_backend, settings):
    settings.USAGE_USER_RPM = 2
    alice, bob = make_user("alice", password=None), make_user("bob", password=None)
    check_user_rate(user=alice)
    check_user_rate(user=alice)
    with pytest.raises(RateLimited) as refused:
        check_user_rate(user=alice)
    assert refused.value.code == "rate_limited"
    with translation.override("en"):
        assert "too quickly" in str(refused.value.message) and "60 seconds" in str(refused.value.message)
    check_user_rate(user=bob)


@pytest.mark.django_db
def test_limits_turned_off_count_nothing(settings, rate_prefix, django_assert_num_queries):
    settings.REDIS_URL = ""
    settings.USAGE_MODEL_LIMITS_ENABLED = False
    settings.USAGE_USER_RPM = 0
    alice = make_user("alice", password=None)
    with django_assert_num_queries(0):
        for _ in range(50):
            acquire_model_slot_blocking(model="glm-5", wait_seconds=0)
            check_user_rate(user=alice)


@pytest.mark.django_db(transaction=True)
def test_two_processes_hammering_one_model_never_pass_its_limit_together(limiter_backend, settings, tmp_path):
    """Two processes ask for 60 slots each of one model at the same time; the limit is 25 a
    minute, and the two together are admitted exactly 25 times."""
    limit, attempts = 25, 60
    go_file = tmp_path / "go"
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="glmweb.settings",
        DATABASE_URL=database_url(connection.settings_dict),
        REDIS_URL=settings.REDIS_URL,
        USAGE_RATE_LIMIT_PREFIX=settings.USAGE_RATE_LIMIT_PREFIX,
        USAGE_MODEL_LIMITS_ENABLED="True",
        USAGE_MODEL_RPM=f"glm-5:{limit}",
        LOG_LEVEL="WARNING",
    )
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(BASE_DIR), env.get("PYTHONPATH")]))
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.usage.limiter_worker", "glm-5", str(attempts), str(go_file)],
            cwd=BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for _ in range(2)
    ]
    try:
        for worker in workers:
            assert worker.stdout.readline().strip() == "ready", worker.stderr.read()
        go_file.write_text(str(time.time() + 0.3))
        results = [worker.communicate(timeout=60) for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    reports = []
    for (out, err), worker in zip(results, workers):
        assert worker.returncode == 0, err
        admitted, attempts, first, last = out.split()
        reports.append((int(admitted), int(attempts), float(first), float(last)))
    assert sum(r[0] for r in reports) == limit, reports
    (_, _, first_a, last_a), (_, _, first_b, last_b) = reports
    assert max(first_a, first_b) < min(last_a, last_b), f"the two processes asked at the same time: {reports}"
