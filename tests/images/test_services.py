"""Image job services: what may be asked, the per-user limit, and the rules a run follows so
that a job runs at most once at a time and is charged at most once."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from images import services
from images.failures import JobFailed
from images.files import StoredPicture
from images.models import ImageJob
from images.selectors import queue_positions
from images.services import ImageRefused, Runner
from tests.factories import make_conversation, make_user
from usage.models import UsageRecord

from .factories import make_image_job

pytestmark = pytest.mark.django_db

FIRST = Runner(worker="w1@host", worker_boot="boot-a", task_id="task-1")


@pytest.fixture
def owner():
    return make_user("painter")


def test_a_new_job_is_queued_and_its_task_sent_only_after_the_transaction_commits(
    owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        job = services.image_job_create(user=owner, prompt="a red fox", size="864x1152")
    assert (job.status, job.model, job.size, job.quality) == ("queued", "cogview-4", "864x1152", "")
    # Announce the job, then queue its task: both wait for the commit.
    assert [callback.__qualname__ for callback in callbacks] == [
        "announce_on_commit.<locals>.<lambda>",
        "_queue_on_commit.<locals>.<lambda>",
    ]
    assert job.queue_position == 1


def test_a_job_asked_for_in_a_conversation_remembers_the_tool_call(owner):
    conversation = make_conversation(owner)
    job = services.image_job_create(user=owner, prompt="a fox", conversation=conversation, tool_call_id="call_1")
    assert (job.conversation_id, job.tool_call_id) == (conversation.pk, "call_1")


@pytest.mark.parametrize(
    "fields, code",
    [
        ({"prompt": "   "}, "empty"),
        ({"prompt": "x" * 1001}, "too_long"),
        ({"prompt": "a fox", "model": "dall-e-3"}, "bad_model"),
        ({"prompt": "a fox", "size": "1000x1000"}, "bad_size"),
        ({"prompt": "a fox", "model": "cogview-4", "quality": "hd"}, "bad_quality"),
        ({"prompt": "a fox", "model": "cogview-4-250304", "quality": "ultra"}, "bad_quality"),
    ],
)
def test_bad_requests_are_refused_and_store_nothing(owner, fields, code):
    with pytest.raises(ImageRefused) as refused:
        services.image_job_create(user=owner, **fields)
    assert refused.value.code == code and str(refused.value.message)
    assert not ImageJob.objects.exists()


def test_quality_is_accepted_for_cogview_4_250304(owner):
    job = services.image_job_create(user=owner, prompt="a fox", model="cogview-4-250304", quality="hd")
    assert job.quality == "hd"


def test_only_queued_and_running_jobs_count_against_the_per_user_limit(owner, settings):
    settings.IMAGE_MAX_ACTIVE_JOBS_PER_USER = 2
    make_image_job(owner, status="succeeded")
    make_image_job(owner, status="failed")
    make_image_job(make_user("other"), status="queued")
    services.image_job_create(user=owner, prompt="one")
    services.image_job_create(user=owner, prompt="two")
    with pytest.raises(ImageRefused) as refused:
        services.image_job_create(user=owner, prompt="three")
    assert refused.value.code == "too_many_jobs"
    assert str(refused.value.message) == (
        "You already have 2 pictures waiting or being made. Wait for one to finish, then try again."
    )
    assert ImageJob.objects.filter(user=owner, prompt="three").count() == 0


def test_queue_positions_count_only_the_users_own_queued_jobs_in_order(owner):
    other = make_user("other")
    make_image_job(owner, status="running")
    first = make_image_job(owner, status="queued")
    make_image_job(other, status="queued")
    second = make_image_job(owner, status="queued")
    assert queue_positions(user_id=owner.pk) == {first.pk: 1, second.pk: 2}


# --- claiming a job for a run ---------------------------------------------------------------


def test_claiming_a_queued_job_starts_it_under_a_lease_with_fixed_file_names(owner, settings):
    job = make_image_job(owner, status="queued")
    claimed = services.image_job_claim(job_id=job.pk, runner=FIRST)
    assert (claimed.status, claimed.runs, claimed.worker, claimed.task_id) == ("running", 1, "w1@host", "task-1")
    assert len(claimed.file_token) == 32 and claimed.started_at is not None
    expected_end = timezone.now() + timedelta(seconds=settings.IMAGE_JOB_LEASE_SECONDS)
    assert abs((claimed.lease_until - expected_end).total_seconds()) < 5


def test_a_job_held_by_a_live_run_is_left_alone(owner):
    job = make_image_job(owner, status="queued")
    services.image_job_claim(job_id=job.pk, runner=FIRST)
    duplicate = Runner(worker="w2@host", worker_boot="boot-b", task_id="task-2")
    assert services.image_job_claim(job_id=job.pk, runner=duplicate) is None
    assert ImageJob.objects.get(pk=job.pk).task_id == "task-1"


@pytest.mark.parametrize(
    "runner",
    [
        pytest.param(Runner(worker="w1@host", worker_boot="boot-a", task_id="task-1"), id="same message again"),
        pytest.param(Runner(worker="w1@host", worker_boot="boot-new", task_id="task-9"), id="restarted worker"),
    ],
)
def test_a_run_takes_over_a_job_whose_holder_is_gone(owner, runner):
    job = make_image_job(owner, status="queued")
    first = services.image_job_claim(job_id=job.pk, runner=FIRST)
    again = services.image_job_claim(job_id=job.pk, runner=runner)
    assert again is not None and again.runs == 2
    assert again.file_token == first.file_token, "a rerun writes the same files"


def test_a_run_takes_over_a_job_whose_lease_has_expired(owner):
    job = make_image_job(owner, status="queued")
    services.image_job_claim(job_id=job.pk, runner=FIRST)
    ImageJob.objects.filter(pk=job.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    other = Runner(worker="w2@elsewhere", worker_boot="boot-b", task_id="task-2")
    assert services.image_job_claim(job_id=job.pk, runner=other).worker == "w2@elsewhere"


def test_finished_jobs_are_never_run_again(owner):
    for status in ("succeeded", "failed"):
        job = make_image_job(owner, status=status)
        assert services.image_job_claim(job_id=job.pk, runner=FIRST) is None
    assert services.image_job_claim(job_id=999_999, runner=FIRST) is None


def test_a_job_that_keeps_killing_its_worker_is_given_up(owner, settings):
    settings.IMAGE_JOB_MAX_RUNS = 2
    job = make_image_job(owner, status="queued")
    for task in ("t1", "t2"):
        assert services.image_job_claim(job_id=job.pk, runner=Runner("w@h", "b", task)) is not None
        ImageJob.objects.filter(pk=job.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert services.image_job_claim(job_id=job.pk, runner=Runner("w@h", "b", "t3")) is None
    job.refresh_from_db()
    assert (job.status, job.error_code) == ("failed", "too_many_runs")
    assert "given up" in job.error_detail["en"]


# --- finishing -------------------------------------------------------------------------------


def _stored() -> StoredPicture:
    return StoredPicture("generated/ab/x.png", "generated/ab/x-thumb.jpg", "image/png", 1024, 1024, 1234)


def test_success_charges_once_however_often_it_is_reported(owner):
    job = make_image_job(owner, status="queued")
    services.image_job_claim(job_id=job.pk, runner=FIRST)
    assert services.image_job_succeed(job_id=job.pk, stored=_stored()) is True
    assert services.image_job_succeed(job_id=job.pk, stored=_stored()) is False
    job.refresh_from_db()
    assert (job.status, job.cost, job.image.name) == ("succeeded", Decimal("0.050000"), "generated/ab/x.png")
    (charge,) = UsageRecord.objects.filter(user=owner)
    assert (charge.kind, charge.model, charge.images, charge.image_price, charge.cost) == (
        "image", "cogview-4", 1, Decimal("0.050000"), Decimal("0.050000")
    )
    assert (charge.charge_key, charge.image_job_id, charge.exact) == (f"image-job:{job.pk}", job.pk, True)


def test_a_failed_job_is_never_charged_and_a_late_success_cannot_change_that(owner):
    job = make_image_job(owner, status="queued")
    services.image_job_claim(job_id=job.pk, runner=FIRST)
    assert services.image_job_fail(job_id=job.pk, failure=JobFailed.own("download_too_big")) is True
    assert services.image_job_succeed(job_id=job.pk, stored=_stored()) is False
    job.refresh_from_db()
    assert (job.status, job.cost) == ("failed", None)
    assert not UsageRecord.objects.exists()


def test_stalled_jobs_are_found_for_requeueing(owner, settings, django_capture_on_commit_callbacks):
    lease = timedelta(seconds=settings.IMAGE_JOB_LEASE_SECONDS)
    now = timezone.now()
    expired = make_image_job(owner, status="running", worker="w2@h", worker_boot="x", lease_until=now - timedelta(seconds=1))
    earlier_life = make_image_job(owner, status="running", worker="w1@host", worker_boot="old", lease_until=now + lease)
    live = make_image_job(owner, status="running", worker="w1@host", worker_boot="boot-a", lease_until=now + lease)
    elsewhere = make_image_job(owner, status="running", worker="w2@h", worker_boot="y", lease_until=now + lease)
    old_queued = make_image_job(owner, status="queued")
    ImageJob.objects.filter(pk=old_queued.pk).update(updated_at=now - lease - timedelta(seconds=1))
    fresh_queued = make_image_job(owner, status="queued")
    make_image_job(owner, status="succeeded")

    with django_capture_on_commit_callbacks() as callbacks:
        found = services.image_jobs_requeue_stalled(runner=FIRST)
    assert found == [expired.pk, earlier_life.pk, old_queued.pk]
    assert len(callbacks) == 3
    assert live.pk not in found and elsewhere.pk not in found and fresh_queued.pk not in found
    assert services.image_jobs_requeue_stalled() == [expired.pk, old_queued.pk]
