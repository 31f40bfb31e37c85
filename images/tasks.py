"""Celery tasks for images, thin over images/runner.py and images/services.py.

Delivery is at least once: acks_late with reject_on_worker_lost puts the message back when the
pool process running it dies, and a worker that starts queues again the jobs an earlier life of
it (or anyone whose lease ran out) left behind. The runner makes running twice harmless.
"""
from __future__ import annotations

import logging
import uuid

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.db import connections

from . import runner, services
from .services import Runner

log = logging.getLogger(__name__)

# Made when the worker's main process imports this module, before its pool processes fork, so
# all pool processes of one worker share it and a restarted worker has a new one.
WORKER_BOOT_ID = uuid.uuid4().hex

# A run is stopped before its lease ends, so no other worker ever takes over a live run.
_SOFT_TIME_LIMIT = settings.IMAGE_JOB_LEASE_SECONDS - 30
_HARD_TIME_LIMIT = settings.IMAGE_JOB_LEASE_SECONDS - 10


@shared_task(
    bind=True,
    name="images.run_job",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=_SOFT_TIME_LIMIT,
    time_limit=_HARD_TIME_LIMIT,
)
def run_image_job(self, job_id: int) -> None:
    runner.run_job(
        job_id=job_id,
        runner=Runner(worker=self.request.hostname or "", worker_boot=WORKER_BOOT_ID, task_id=self.request.id or ""),
    )


@shared_task(name="images.requeue_stalled_jobs")
def requeue_stalled_jobs() -> None:
    job_ids = services.image_jobs_requeue_stalled()
    if job_ids:
        log.info("queued stalled image jobs again: %s", job_ids)


def queue_job(job_id: int) -> None:
    """Send the job's message. If the broker is down the job stays queued, and the next
    worker start (or the periodic sweep) sends it again."""
    try:
        run_image_job.delay(job_id)
    except Exception:
        log.exception("could not queue image job %s", job_id)


@worker_ready.connect
def _requeue_after_start(sender, **kwargs) -> None:
    worker = Runner(worker=getattr(sender, "hostname", "") or "", worker_boot=WORKER_BOOT_ID, task_id="")
    try:
        job_ids = services.image_jobs_requeue_stalled(runner=worker)
    except Exception:
        # A worker started before `migrate` must still start.
        log.exception("could not look for stalled image jobs")
        return
    finally:
        # The main process runs no tasks; it should not keep a connection open.
        connections.close_all()
    if job_ids:
        log.info("queued image jobs left by an earlier run again: %s", job_ids)
