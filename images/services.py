"""Writes to image jobs: creating one (views, the chat tool), and each step of running one
(images/runner.py). Every state change is announced to the owner's pages after it commits."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from usage.budgets import BudgetExceeded, ensure_within_budget, estimate_image_cost
from usage.ledger import record_image_usage
from usage.limits import RateLimited, check_user_rate


from . import selectors
from .events import announce_on_commit
from .failures import JobFailed
from .files import StoredPicture, delete_files, new_file_token
from .models import ImageJob
from .options import DEFAULT_SIZE, QUALITIES, RECOMMENDED_SIZES, image_models, takes_quality

log = logging.getLogger(__name__)


# Refusal texts are rendered when read, in the reader's language (a view's, or English for
# the chat model), not in whatever language was active when the refusal was raised.
def _too_long_text(limit: int) -> str:
    return ngettext(
        "The description is too long (at most %(limit)s character).",
        "The description is too long (at most %(limit)s characters).",
        limit,
    ) % {"limit": limit}


def _too_many_jobs_text(limit: int) -> str:
    return ngettext(
        "You already have %(limit)s picture waiting or being made. Wait for it to finish, then try again.",
        "You already have %(limit)s pictures waiting or being made. Wait for one to finish, then try again.",
        limit,
    ) % {"limit": limit}


_too_many_jobs_message = lazy(_too_many_jobs_text, str)
_too_long_message = lazy(_too_long_text, str)


class ImageRefused(Exception):
    """A request that was refused and changed nothing; code and (lazy) message go to the user."""

    def __init__(self, code: str, message):
        super().__init__(code)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Runner:
    """Who is running a job: the worker's node name, its boot id, and the Celery task id."""

    worker: str
    worker_boot: str
    task_id: str


def image_job_create(
    *,
    user,
    prompt: str,
    model: str | None = None,
    size: str | None = None,
    quality: str | None = None,
    conversation=None,
    tool_call_id: str = "",
) -> ImageJob:
    """Store a queued job for the user and queue its task once the transaction commits.

    The job comes back as created (queued) with `queue_position`, its place in the user's queue.

    Raises ImageRefused (nothing stored) for a bad prompt, model, size or quality, or when the
    user already has IMAGE_MAX_ACTIVE_JOBS_PER_USER jobs queued or running.
    """
    model = model or settings.IMAGE_DEFAULT_MODEL
    size = size or DEFAULT_SIZE
    prompt = _validated_prompt(prompt)
    _validate_options(model=model, size=size, quality=quality or "")
    try:
        check_user_rate(user=user)
        ensure_within_budget(user=user, estimated_cost=estimate_image_cost(model=model))
    except (BudgetExceeded, RateLimited) as refused:
        raise ImageRefused(refused.code, refused.message) from None
    with transaction.atomic():
        # Locking the user's row makes "count, then create" one step per user, so two tabs
        # submitting at once cannot both slip under the limit.
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        limit = settings.IMAGE_MAX_ACTIVE_JOBS_PER_USER
        if selectors.active_job_count(user_id=user.pk) >= limit:
            raise ImageRefused("too_many_jobs", _too_many_jobs_message(limit))
        job = ImageJob.objects.create(
            user=user,
            prompt=prompt,
            model=model,
            size=size,
            quality=quality or "",
            conversation=conversation,
            tool_call_id=tool_call_id[:80],
        )
        # Read before the commit: a worker may take the job the moment it is committed.
        job.queue_position = selectors.queue_positions(user_id=user.pk).get(job.pk)
        # Announce before queueing, so pages hear "queued" before a worker can say "running".
        announce_on_commit(job.pk)
        _queue_on_commit(job.pk)
    return job


def image_job_delete(*, job: ImageJob) -> None:
    """Delete a finished job and its files. The ledger keeps what it cost."""
    with transaction.atomic():
        # Locked and read again: a worker may have taken the job since the caller loaded it.
        job = ImageJob.objects.select_for_update().filter(pk=job.pk).first()
        if job is None:
            return  # deleted meanwhile (another tab)
        if job.is_active:
            raise ImageRefused("busy", _("This picture is still being made. Wait until it is finished."))
        names = (job.image.name, job.thumbnail.name)
        job.delete()
        transaction.on_commit(lambda: delete_files(*names))


def _validated_prompt(prompt) -> str:
    if not isinstance(prompt, str) or not prompt.strip():
        raise ImageRefused("empty", _("Describe the picture you want."))
    prompt = prompt.strip()
    if len(prompt) > settings.IMAGE_MAX_PROMPT_CHARS:
        raise ImageRefused("too_long", _too_long_message(settings.IMAGE_MAX_PROMPT_CHARS))
    return prompt


def _validate_options(*, model: str, size: str, quality: str) -> None:
    if model not in image_models():
        raise ImageRefused("bad_model", _("That image model is not available."))
    if size not in RECOMMENDED_SIZES:
        raise ImageRefused("bad_size", _("Choose one of the offered picture sizes."))
    if quality and (quality not in QUALITIES or not takes_quality(model)):
        raise ImageRefused("bad_quality", _("This model does not take a quality setting."))


def _queue_on_commit(job_id: int) -> None:
    from .tasks import queue_job  # the task module imports the runner, which imports this one

    transaction.on_commit(lambda: queue_job(job_id))


# --- running a job (called by images/runner.py in the worker) ---------------------------------


def image_job_claim(*, job_id: int, runner: Runner) -> ImageJob | None:
    """Take the job on for this run, or None when there is nothing to do.

    Nothing to do: the job is gone or finished, or another run that is still alive holds it.
    A run may take over a running job when it is the same Celery message delivered again (the
    run that had it died), when the holder's lease has expired, or when the holder was an
    earlier life of this same worker.
    """
    with transaction.atomic():
        job = ImageJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or not job.is_active:
            return None
        now = timezone.now()
        if job.status == ImageJob.Status.RUNNING and not _may_take_over(job, runner, now):
            log.info("image job %s is held by %s (task %s); skipping", job_id, job.worker, job.task_id)
            return None
        if job.runs >= settings.IMAGE_JOB_MAX_RUNS:
            _mark_failed(job, JobFailed.own("too_many_runs"))
            return None
        job.status = ImageJob.Status.RUNNING
        job.runs += 1
        job.worker = runner.worker[:200]
        job.worker_boot = runner.worker_boot[:40]
        job.task_id = runner.task_id[:80]
        job.lease_until = now + timedelta(seconds=settings.IMAGE_JOB_LEASE_SECONDS)
        job.started_at = job.started_at or now
        if not job.file_token:
            job.file_token = new_file_token()
        job.save(update_fields=[
            "status", "runs", "worker", "worker_boot", "task_id", "lease_until", "started_at", "file_token", "updated_at",
        ])
        announce_on_commit(job.pk)
    return job


def _may_take_over(job: ImageJob, runner: Runner, now) -> bool:
    if job.task_id and job.task_id == runner.task_id:
        return True
    if job.lease_until is None or job.lease_until <= now:
        return True
    return job.worker == runner.worker and job.worker_boot != runner.worker_boot


def image_job_count_attempt(*, job_id: int) -> None:
    """One more request to CogView is about to be sent for this job."""
    with transaction.atomic():
        job = ImageJob.objects.select_for_update().get(pk=job_id)
        job.attempts += 1
        job.save(update_fields=["attempts", "updated_at"])
        if job.attempts > 1:
            announce_on_commit(job.pk)  # the page says the service is busy and we are retrying


def image_job_save_source(*, job_id: int, url: str, glm_request_id: str | None) -> None:
    """Keep CogView's URL, so that a rerun downloads it instead of paying for a second picture."""
    ImageJob.objects.filter(pk=job_id).update(source_url=url, glm_request_id=glm_request_id or "", updated_at=timezone.now())


def image_job_forget_source(*, job_id: int) -> None:
    ImageJob.objects.filter(pk=job_id).update(source_url="", updated_at=timezone.now())


def image_job_succeed(*, job_id: int, stored: StoredPicture) -> bool:
    """Mark the job succeeded and charge it once, in one transaction. False if it was no
    longer running (a concurrent run finished it first), in which case nothing changes."""
    with transaction.atomic():
        job = ImageJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status != ImageJob.Status.RUNNING:
            return False
        charge = record_image_usage(
            user_id=job.user_id,
            model=job.model,
            images=1,
            charge_key=f"image-job:{job.pk}",
            image_job_id=job.pk,
            conversation_id=job.conversation_id,
            glm_request_id=job.glm_request_id,
        )
        job.status = ImageJob.Status.SUCCEEDED
        job.image.name = stored.image_name
        job.thumbnail.name = stored.thumbnail_name
        job.content_type = stored.content_type
        job.width = stored.width
        job.height = stored.height
        job.file_bytes = stored.file_bytes
        job.cost = charge.cost
        job.finished_at = timezone.now()
        job.lease_until = None
        job.save(update_fields=[
            "status", "image", "thumbnail", "content_type", "width", "height", "file_bytes", "cost", "finished_at",
            "lease_until", "updated_at",
        ])
        announce_on_commit(job.pk)
    return True


def image_job_fail(*, job_id: int, failure: JobFailed) -> bool:
    """Mark the job failed with its reason. A failed job is never charged."""
    with transaction.atomic():
        job = ImageJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or not job.is_active:
            return False
        _mark_failed(job, failure)
    return True


def _mark_failed(job: ImageJob, failure: JobFailed) -> None:
    job.status = ImageJob.Status.FAILED
    job.error_code = failure.code[:40]
    job.error_detail = failure.texts
    job.finished_at = timezone.now()
    job.lease_until = None
    job.save(update_fields=["status", "error_code", "error_detail", "finished_at", "lease_until", "updated_at"])
    announce_on_commit(job.pk)


def image_jobs_requeue_stalled(*, runner: Runner | None = None) -> list[int]:
    """Queue again the jobs whose message may have been lost; return their ids.

    Running jobs whose lease has expired, running jobs held by an earlier life of runner's
    worker, and jobs queued for longer than a lease (a server-free broker loses the message a
    killed worker had fetched). A duplicate message is harmless: the claim lets one run through.
    """
    now = timezone.now()
    lease = timedelta(seconds=settings.IMAGE_JOB_LEASE_SECONDS)
    stalled = Q(status=ImageJob.Status.RUNNING, lease_until__lte=now) | Q(
        status=ImageJob.Status.QUEUED, updated_at__lte=now - lease
    )
    if runner is not None:
        stalled |= Q(status=ImageJob.Status.RUNNING, worker=runner.worker) & ~Q(worker_boot=runner.worker_boot)
    job_ids = list(ImageJob.objects.filter(stalled).order_by("id").values_list("id", flat=True))
    with transaction.atomic():
        for job_id in job_ids:
            _queue_on_commit(job_id)
    return job_ids
