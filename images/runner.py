"""Runs one image job, start to finish: claim it, ask CogView, download the picture at once
(its URL is temporary), check it, store it with a thumbnail, then charge and mark it succeeded.

Safe to run any number of times for the same job (at-least-once delivery): the claim lets one
live run through, CogView's URL is kept so a rerun does not pay for a second picture, files are
written under the job's fixed names, and the charge has a unique key. See docs/images.md.
"""
from __future__ import annotations

import logging
import time

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from glm.errors import GLMError
from glm.results import ImageResult
from usage.limits import RateLimited, acquire_model_slot_blocking

from . import services
from .download import DownloadFailed, DownloadLimits, download
from .failures import JobFailed
from .files import delete_files, store_picture
from .glm_client import image_client, image_retry_policy
from .models import ImageJob
from .options import parse_size
from .pictures import PictureRejected, check_picture
from .services import Runner

log = logging.getLogger(__name__)

_DOWNLOAD_FAILURES = {
    "expired": "download_expired",
    "too_big": "download_too_big",
    "too_slow": "download_too_slow",
    "failed": "download_failed",
}


def run_job(*, job_id: int, runner: Runner) -> None:
    job = services.image_job_claim(job_id=job_id, runner=runner)
    if job is None:
        return
    try:
        _produce(job)
    except JobFailed as failure:
        log.info("image job %s failed: %s", job_id, failure.code)
        services.image_job_fail(job_id=job_id, failure=failure)
    except SoftTimeLimitExceeded:
        log.warning("image job %s hit its time limit", job_id)
        services.image_job_fail(job_id=job_id, failure=JobFailed.own("time_limit"))
    except Exception:
        # A bug must not leave the job "running" until its lease runs out.
        log.exception("image job %s failed unexpectedly", job_id)
        services.image_job_fail(job_id=job_id, failure=JobFailed.own("internal"))


def _produce(job: ImageJob) -> None:
    url = job.source_url
    reused = bool(url)
    if not reused:
        url = _generate(job)
    try:
        data = download(url, limits=_download_limits())
    except DownloadFailed as failure:
        if not (reused and failure.reason == "expired"):
            raise JobFailed.own(_DOWNLOAD_FAILURES[failure.reason]) from failure
        # The URL kept by an earlier run has lapsed: that picture is lost, make it again.
        services.image_job_forget_source(job_id=job.pk)
        data = _download_or_fail(_generate(job))
    try:
        picture = check_picture(data, expected_size=parse_size(job.size))
    except PictureRejected as rejected:
        raise JobFailed.own(rejected.reason) from rejected
    stored = store_picture(token=job.file_token, picture=picture)
    if not services.image_job_succeed(job_id=job.pk, stored=stored):
        _drop_unused_files(job.pk, stored)


def _download_or_fail(url: str) -> bytes:
    try:
        return download(url, limits=_download_limits())
    except DownloadFailed as failure:
        raise JobFailed.own(_DOWNLOAD_FAILURES[failure.reason]) from failure


def _generate(job: ImageJob) -> str:
    """Ask CogView for the picture, retrying what is worth retrying; keep and return its URL."""
    policy = image_retry_policy()
    retries = 0
    while True:
        try:
            # The account's requests per minute for this model, shared with every process.
            acquire_model_slot_blocking(model=job.model, wait_seconds=settings.IMAGE_GENERATION_TIMEOUT)
        except RateLimited as limited:
            time.sleep(min(limited.retry_after, 30.0))
            continue
        services.image_job_count_attempt(job_id=job.pk)
        try:
            result: ImageResult = image_client().generate_image(
                model=job.model,
                prompt=job.prompt,
                size=job.size,
                quality=job.quality or None,
                user_id=f"user-{job.user_id:06d}",
            )
        except GLMError as error:
            retries += 1
            if not policy.should_retry(error, retries):
                raise JobFailed.from_glm(error) from error
            delay = policy.delay(retries)
            log.info("image job %s: %s, retry %s in %.2f s", job.pk, error.code, retries, delay)
            time.sleep(delay)
            continue
        services.image_job_save_source(job_id=job.pk, url=result.url, glm_request_id=result.request_id)
        return result.url


def _download_limits() -> DownloadLimits:
    return DownloadLimits(
        max_bytes=settings.IMAGE_DOWNLOAD_MAX_BYTES,
        connect_timeout=settings.IMAGE_DOWNLOAD_CONNECT_TIMEOUT,
        read_timeout=settings.IMAGE_DOWNLOAD_READ_TIMEOUT,
        total_timeout=settings.IMAGE_DOWNLOAD_TIMEOUT,
    )


def _drop_unused_files(job_id: int, stored) -> None:
    """Another run finished the job first; keep only the files the job points at."""
    job = ImageJob.objects.filter(pk=job_id).first()
    kept = {job.image.name, job.thumbnail.name} if job is not None else set()
    delete_files(*(name for name in (stored.image_name, stored.thumbnail_name) if name not in kept))
