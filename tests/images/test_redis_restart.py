"""Redis restarted while picture jobs wait in its queue: with append-only persistence nothing is
lost, and a worker started afterwards makes every picture (a private redis-server; the
machine's shared one is left alone)."""
import os
import subprocess

import pytest

from glmweb.celery import app as celery_app
from images import services
from images.models import ImageJob
from tests.factories import make_user
from tests.servers import PrivateRedis

from .fixtures import wait_for_job
from .worker import CELERY, PROJECT_ROOT, WORKER_SETTINGS, database_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.glm]


@pytest.fixture
def private_broker(tmp_path):
    redis = PrivateRedis(tmp_path / "redis").start()
    saved = (celery_app.conf.broker_url, dict(celery_app.conf.broker_transport_options or {}))
    celery_app.conf.broker_url = redis.url
    celery_app.conf.broker_transport_options = {"visibility_timeout": 3600}
    celery_app._pool = None  # connections made for the old broker must not be reused
    yield redis
    celery_app.conf.broker_url, celery_app.conf.broker_transport_options = saved
    celery_app._pool = None
    redis.stop()


def test_jobs_queued_before_a_redis_restart_are_all_made_afterwards(private_broker, emulator, tmp_path):
    user = make_user()
    jobs = [services.image_job_create(user=user, prompt=f"a green hill number {n}") for n in range(3)]
    assert ImageJob.objects.filter(status="queued").count() == 3

    private_broker.restart(down_seconds=0.5)

    env = dict(
        os.environ,
        **WORKER_SETTINGS,
        REDIS_URL=private_broker.url,
        DATABASE_URL=database_url(),
        MEDIA_ROOT=str(tmp_path / "media"),
        ZHIPUAI_API_KEY=emulator.api_key,
        ZHIPUAI_BASE_URL=emulator.base_url,
        PYTHONUNBUFFERED="1",
    )
    log_path = tmp_path / "worker.log"
    with open(log_path, "wb") as log:
        worker = subprocess.Popen(
            [str(CELERY), "-A", "glmweb", "worker", "--pool", "solo", "-n", f"restart-{os.getpid()}@localhost",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "INFO"],
            cwd=PROJECT_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        for job in jobs:
            finished = wait_for_job(job.pk, "succeeded", "failed", timeout=60)
            assert finished.status == "succeeded", log_path.read_text()[-3000:]
            assert finished.image and finished.cost is not None
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
