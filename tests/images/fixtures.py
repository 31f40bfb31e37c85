"""Fixtures for tests that need the image worker; tests/images/conftest.py and other test
modules import them from here."""
from __future__ import annotations

import time

import pytest

from images.models import ImageJob

from .worker import close_shared_worker, shared_worker


@pytest.fixture(scope="session")
def image_worker_harness(django_db_setup, emulator):
    """The session's worker harness; the worker (if started) is stopped before the test
    database is dropped."""
    yield shared_worker()
    close_shared_worker()


@pytest.fixture
def image_broker(image_worker_harness):
    """Jobs queued during the test go to the session's own broker, never to the site's (where a
    developer's running worker would pick them up); other tests keep the site's."""
    image_worker_harness.point_celery_here()
    yield image_worker_harness
    image_worker_harness.restore_celery()


@pytest.fixture
def unread_broker(image_broker):
    """Jobs queued during the test reach no worker: the test moves them along by hand."""
    image_broker.point_celery_nowhere()
    yield image_broker


@pytest.fixture
def image_worker(image_broker, emulator, settings):
    """The running worker; the site serves files from the media folder the worker writes to."""
    worker = image_broker.ensure_running(emulator=emulator)
    settings.MEDIA_ROOT = worker.media_root
    yield worker
    if worker.process is None or worker.process.poll() is not None:
        pytest.fail(f"the image worker died during the test:\n{worker.log_tail()}")


def wait_for_job(job_id: int, *statuses: str, timeout: float = 20.0, worker=None) -> ImageJob:
    """Poll the database until the job reaches one of statuses."""
    deadline = time.monotonic() + timeout
    while True:
        job = ImageJob.objects.get(pk=job_id)
        if job.status in statuses:
            return job
        if time.monotonic() > deadline:
            log = f"\n{worker.log_tail()}" if worker is not None else ""
            raise AssertionError(f"job {job_id} is {job.status}, not {statuses}, after {timeout} s{log}")
        time.sleep(0.05)


def wait_until(condition, *, timeout: float = 20.0, interval: float = 0.05, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} not met after {timeout} s")
        time.sleep(interval)
