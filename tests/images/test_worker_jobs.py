"""Image jobs end to end: a real Celery worker process (not eager mode) on the session's own
broker, CogView and its downloads served over HTTP by the GLM emulator."""
from __future__ import annotations

import io
import uuid
from decimal import Decimal

import pytest
from PIL import Image

from images import services
from images.models import ImageJob
from images.tasks import run_image_job
from tests.factories import make_user
from usage.models import UsageRecord

from .fixtures import wait_for_job, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.glm]


@pytest.fixture
def owner(db):
    return make_user("painter")


def _unique(prompt: str) -> str:
    # The emulator counts [[glm-error:CODE#K]] per identical prompt for the whole session.
    return f"{prompt} ({uuid.uuid4().hex[:8]})"


def _requests_for(emulator, prompt: str) -> list[dict]:
    return [r for r in emulator.requests() if r["path"].endswith("/images/generations") and r["last_user_text"] == prompt]


def _seen_statuses(job_id: int, *, until: tuple[str, ...], worker) -> list[str]:
    """The job's statuses as a poller sees them, in order, until one of `until`."""
    seen: list[str] = []

    def observe():
        status = ImageJob.objects.values_list("status", flat=True).get(pk=job_id)
        if not seen or seen[-1] != status:
            seen.append(status)
        return status in until

    wait_until(observe, timeout=20, interval=0.02, message=f"job {job_id} to finish\n{worker.log_tail()}")
    return seen


def test_job_goes_queued_running_succeeded_and_its_png_is_served_to_its_owner_only(
    client, owner, image_worker, emulator
):
    client.force_login(owner)
    prompt = _unique("a red fox in the snow [[glm-slow:600]]")
    response = client.post(
        "/images/new/", {"prompt": prompt, "model": "cogview-4", "size": "768x1344"}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 201
    created = response.json()["job"]
    assert created["status"] == "queued" and created["position"] == 1

    seen = _seen_statuses(created["id"], until=("succeeded", "failed"), worker=image_worker)
    # The worker may take the job before the first look at the database.
    assert seen in (["queued", "running", "succeeded"], ["running", "succeeded"])

    job = ImageJob.objects.get(pk=created["id"])
    assert (job.width, job.height, job.content_type) == (768, 1344, "image/png")
    assert job.cost == Decimal("0.050000") and job.attempts == 1 and job.runs == 1
    (charge,) = UsageRecord.objects.filter(image_job=job)
    assert (charge.kind, charge.images, charge.cost, charge.charge_key) == ("image", 1, Decimal("0.050000"), f"image-job:{job.pk}")

    picture = client.get(f"/images/{job.pk}/image/")
    assert picture.status_code == 200
    assert picture["Content-Type"] == "image/png" and picture["X-Content-Type-Options"] == "nosniff"
    stored = Image.open(io.BytesIO(b"".join(picture.streaming_content)))
    assert (stored.format, stored.size) == ("PNG", (768, 1344))
    thumbnail = client.get(f"/images/{job.pk}/thumbnail/")
    assert thumbnail["Content-Type"] == "image/jpeg"
    assert max(Image.open(io.BytesIO(b"".join(thumbnail.streaming_content))).size) <= 512

    status = client.get(f"/images/{job.pk}/status/").json()["job"]
    assert status["status"] == "succeeded" and status["image_url"] == f"/images/{job.pk}/image/"

    client.force_login(make_user("stranger"))
    for path in (f"/images/{job.pk}/image/", f"/images/{job.pk}/thumbnail/", f"/images/{job.pk}/", f"/images/{job.pk}/status/"):
        assert client.get(path).status_code == 404, path
    assert client.post(f"/images/{job.pk}/delete/").status_code == 404
    assert ImageJob.objects.filter(pk=job.pk).exists()


def test_content_blocked_prompt_fails_at_once_without_retry_or_charge(owner, image_worker, emulator):
    prompt = _unique("something unsafe [[glm-error:1301]]")
    job = services.image_job_create(user=owner, prompt=prompt)
    job = wait_for_job(job.pk, "succeeded", "failed", worker=image_worker)
    assert job.status == "failed" and job.error_code == "1301"
    assert job.error_detail["en"] == "This was blocked by the provider's content check — please rephrase."
    assert job.error_detail["zh-hans"] != job.error_detail["en"]
    assert job.attempts == 1 and len(_requests_for(emulator, prompt)) == 1
    assert not UsageRecord.objects.filter(image_job_id=job.pk).exists() and job.cost is None


def test_busy_service_is_retried_with_backoff_then_succeeds(owner, image_worker, emulator):
    prompt = _unique("a lighthouse at dusk [[glm-error:1302#2]]")
    job = services.image_job_create(user=owner, prompt=prompt)
    job = wait_for_job(job.pk, "succeeded", "failed", worker=image_worker)
    assert job.status == "succeeded"
    assert [r["status"] for r in _requests_for(emulator, prompt)] == [429, 429, 200]
    assert job.attempts == 3
    assert UsageRecord.objects.filter(image_job_id=job.pk).count() == 1


@pytest.mark.parametrize("code", ["1302", "1305"])
def test_busy_service_beyond_the_retry_limit_fails_without_charge(owner, image_worker, emulator, code):
    prompt = _unique(f"an overloaded painter [[glm-error:{code}]]")
    job = services.image_job_create(user=owner, prompt=prompt)
    job = wait_for_job(job.pk, "succeeded", "failed", worker=image_worker)
    assert job.status == "failed" and job.error_code == code
    # IMAGE_MAX_RETRIES=2 in the worker: the first request and two retries.
    assert [r["status"] for r in _requests_for(emulator, prompt)] == [429, 429, 429]
    assert job.error_detail["en"] == "The model is busy right now — please try again in a moment."
    assert not UsageRecord.objects.filter(image_job_id=job.pk).exists()


@pytest.mark.parametrize(
    "trigger, code, reason",
    [
        ("[[glm-file:expired]]", "download_expired", "download link had already expired"),
        # 1.5 MB against the worker's 1 MB cap, sent with no Content-Length.
        ("[[glm-file-pad:1500000]]", "download_too_big", "larger than this site accepts"),
        ("[[glm-file:not-image]]", "not_an_image", "not a PNG or JPEG"),
        # 20 pieces 200 ms apart: 3.8 s against the worker's 2.5 s total.
        ("[[glm-file-slow:200]]", "download_too_slow", "took too long to download"),
    ],
)
def test_a_bad_download_fails_the_job_cleanly_without_charge(owner, image_worker, emulator, trigger, code, reason):
    before = _files_in(image_worker.media_root)
    job = services.image_job_create(user=owner, prompt=_unique(f"a harbour {trigger}"))
    job = wait_for_job(job.pk, "succeeded", "failed", worker=image_worker)
    assert (job.status, job.error_code) == ("failed", code)
    assert reason in job.error_detail["en"] and job.error_detail["zh-hans"]
    assert not UsageRecord.objects.filter(image_job_id=job.pk).exists()
    assert not job.image and _files_in(image_worker.media_root) == before


def test_running_a_finished_job_again_changes_nothing(owner, image_worker, emulator):
    prompt = _unique("a quiet pond")
    job = wait_for_job(services.image_job_create(user=owner, prompt=prompt).pk, "succeeded", worker=image_worker)
    files = _files_in(image_worker.media_root)
    run_image_job.delay(job.pk)  # a duplicate message, as at-least-once delivery may bring
    second = services.image_job_create(user=owner, prompt=_unique("after the duplicate"))
    wait_for_job(second.pk, "succeeded", worker=image_worker)  # one worker process: the duplicate ran first
    job.refresh_from_db()
    assert job.runs == 1 and job.attempts == 1
    assert UsageRecord.objects.filter(image_job_id=job.pk).count() == 1
    assert len(_requests_for(emulator, prompt)) == 1
    assert files <= _files_in(image_worker.media_root)


def _files_in(root) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}
