"""At-least-once delivery made safe: a worker killed with SIGKILL in the middle of a job leaves
the job to be run again, and however often it runs it makes one picture and one charge."""
from __future__ import annotations

import uuid

import pytest

from images import services
from images.models import ImageJob
from tests.factories import make_user
from usage.models import UsageRecord

from .fixtures import wait_for_job, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.glm]


@pytest.fixture
def owner(db):
    return make_user("painter")


def _generation_requests(emulator, prompt: str) -> list[dict]:
    return [r for r in emulator.requests() if r["path"].endswith("/images/generations") and r["last_user_text"] == prompt]


def _pictures_in(root) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


def test_worker_killed_mid_download_finishes_the_job_after_a_restart_with_one_picture_and_one_charge(
    owner, image_worker, emulator
):
    before = _pictures_in(image_worker.media_root)
    # The picture downloads in 20 pieces 80 ms apart (about 1.5 s): time to kill the worker.
    prompt = f"a slow harbour [[glm-file-slow:80]] ({uuid.uuid4().hex[:8]})"
    job = services.image_job_create(user=owner, prompt=prompt)
    wait_until(
        lambda: ImageJob.objects.filter(pk=job.pk, status="running").exclude(source_url="").exists(),
        message="the job to be downloading",
    )

    image_worker.kill()  # SIGKILL to the worker and its pool process: no cleanup, no ack
    assert ImageJob.objects.get(pk=job.pk).status == "running"
    image_worker.restart()

    job = wait_for_job(job.pk, "succeeded", "failed", worker=image_worker)
    assert job.status == "succeeded" and job.runs == 2
    assert UsageRecord.objects.filter(image_job_id=job.pk).count() == 1
    # The rerun downloaded the URL the first run had kept: CogView was asked once.
    assert len(_generation_requests(emulator, prompt)) == 1
    assert _pictures_in(image_worker.media_root) - before == {job.image.name, job.thumbnail.name}


def test_pool_process_killed_mid_generation_is_run_again_from_the_same_message(owner, image_worker, emulator):
    before = _pictures_in(image_worker.media_root)
    prompt = f"a slow lighthouse [[glm-slow:1500]] ({uuid.uuid4().hex[:8]})"
    job = services.image_job_create(user=owner, prompt=prompt)
    wait_until(
        lambda: ImageJob.objects.filter(pk=job.pk, status="running", attempts=1).exists(),
        message="the job to be asking CogView",
    )
    task_id = ImageJob.objects.get(pk=job.pk).task_id

    image_worker.kill_pool_process()  # the worker lives on and puts the message back

    job = wait_for_job(job.pk, "succeeded", "failed", worker=image_worker)
    assert job.status == "succeeded" and job.runs == 2
    assert job.task_id == task_id, "the same message was delivered again"
    assert UsageRecord.objects.filter(image_job_id=job.pk).count() == 1
    assert _pictures_in(image_worker.media_root) - before == {job.image.name, job.thumbnail.name}
