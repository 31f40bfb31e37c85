"""The gallery's pages and endpoints: what the owner sees, what everyone else cannot."""
from __future__ import annotations

import json
import re

import pytest
from django.core.files.storage import default_storage

from images.models import ImageJob
from images.options import RECOMMENDED_SIZES
from tests.factories import make_user
from usage.ledger import record_image_usage
from usage.models import UsageRecord

from .factories import make_image_job

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner():
    return make_user("painter")


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


def _json_script(response, element_id):
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', response.content.decode(), re.S)
    assert match, f"no {element_id} on the page"
    return json.loads(match.group(1))


def test_gallery_needs_a_login(client):
    response = client.get("/images/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_gallery_offers_the_recommended_sizes_and_quality_only_for_cogview_4_250304(owner_client):
    response = owner_client.get("/images/")
    assert response.status_code == 200
    html = response.content.decode()
    sizes = re.findall(r'<option value="(\d+x\d+)"', html)
    assert sizes == list(RECOMMENDED_SIZES)
    assert 'name="quality"' in html
    config = _json_script(response, "gallery-config")
    assert config["quality_models"] == ["cogview-4-250304"]
    assert config["ws_path"] == "/ws/images/" and config["create_url"] == "/images/new/"
    assert "<script>" not in html and "onclick" not in html  # nothing inline: the CSP allows only files
    assert 'src="/static/js/gallery.js"' in html


def _queries_for(client, path) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


def test_grid_shows_only_own_pictures_newest_first_in_pages_without_a_query_per_picture(owner_client, owner, settings):
    settings.IMAGE_GALLERY_PAGE_SIZE = 4
    make_image_job(owner, status="queued", prompt="still waiting")
    jobs = [make_image_job(owner, prompt="picture 0")]
    with_one = _queries_for(owner_client, "/images/")
    jobs += [make_image_job(owner, prompt=f"picture {n}") for n in range(1, 6)]
    make_image_job(make_user("other"), prompt="not yours")
    make_image_job(owner, status="failed", prompt="failed one")
    assert _queries_for(owner_client, "/images/") == with_one

    first = owner_client.get("/images/")
    ids = [int(i) for i in re.findall(r'class="picture" data-job-id="(\d+)"', first.content.decode())]
    assert ids == [job.pk for job in reversed(jobs)][:4]
    assert "not yours" not in first.content.decode()
    second = owner_client.get("/images/?page=2")
    ids = [int(i) for i in re.findall(r'class="picture" data-job-id="(\d+)"', second.content.decode())]
    assert ids == [jobs[1].pk, jobs[0].pk]


def test_the_gallery_speaks_the_users_language(owner_client):
    html = owner_client.get("/images/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "图片库" in html and "1024 × 1024 · 方形" in html and "768 × 1344 · 竖版" in html
    strings = _json_script(owner_client.get("/images/", HTTP_ACCEPT_LANGUAGE="zh-hans"), "gallery-strings")
    assert strings["queued_position"] == "排队中 · 你的队列第 {position} 位"


def test_unfinished_jobs_survive_a_reload_in_their_state_and_queue_position(owner_client, owner):
    running = make_image_job(owner, status="running", prompt="being made")
    first = make_image_job(owner, status="queued", prompt="next up")
    second = make_image_job(owner, status="queued", prompt="after that")
    response = owner_client.get("/images/")
    pending = {job["id"]: job for job in _json_script(response, "gallery-pending")}
    assert pending[running.pk]["status"] == "running" and pending[running.pk]["position"] is None
    assert (pending[first.pk]["position"], pending[second.pk]["position"]) == (1, 2)
    html = response.content.decode()
    assert "Queued · number 2 in your queue" in html and "Making the picture…" in html


def test_submitting_a_prompt_creates_a_queued_job_at_once(owner_client, owner):
    response = owner_client.post(
        "/images/new/",
        {"prompt": "  a fox  ", "model": "cogview-4-250304", "size": "1344x768", "quality": "hd"},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 201
    job = response.json()["job"]
    assert (job["status"], job["prompt"], job["size"], job["quality"], job["position"]) == ("queued", "a fox", "1344x768", "hd", 1)
    assert job["status_url"] == f"/images/{job['id']}/status/" and job["image_url"] is None
    assert ImageJob.objects.get(pk=job["id"]).user == owner


def test_quality_is_dropped_for_models_that_do_not_take_it(owner_client):
    response = owner_client.post(
        "/images/new/", {"prompt": "a fox", "model": "cogview-4", "size": "1024x1024", "quality": "hd"},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 201 and response.json()["job"]["quality"] is None


def test_an_unknown_size_is_refused(owner_client):
    response = owner_client.post(
        "/images/new/", {"prompt": "a fox", "model": "cogview-4", "size": "1000x1000"}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    assert not ImageJob.objects.exists()


def test_beyond_the_per_user_limit_a_job_is_refused_with_a_clear_message(owner_client, owner, settings):
    settings.IMAGE_MAX_ACTIVE_JOBS_PER_USER = 2
    make_image_job(owner, status="queued")
    make_image_job(owner, status="running")
    response = owner_client.post(
        "/images/new/", {"prompt": "one more", "model": "cogview-4", "size": "1024x1024"}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 429
    assert response.json() == {
        "code": "too_many_jobs",
        "message": "You already have 2 pictures waiting or being made. Wait for one to finish, then try again.",
    }
    # Without scripts: back to the gallery with the message and the prompt kept.
    response = owner_client.post("/images/new/", {"prompt": "one more", "model": "cogview-4", "size": "1024x1024"}, follow=True)
    assert "You already have 2 pictures waiting" in response.content.decode()
    assert response.redirect_chain[-1][0].startswith("/images/?prompt=one+more")
    assert re.search(r">\s*one more</textarea>", response.content.decode())


def test_the_limit_message_is_in_the_users_language(owner_client, owner, settings):
    settings.IMAGE_MAX_ACTIVE_JOBS_PER_USER = 1
    make_image_job(owner, status="queued")
    response = owner_client.post(
        "/images/new/", {"prompt": "再来一张", "model": "cogview-4", "size": "1024x1024"},
        HTTP_ACCEPT="application/json", HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 429
    assert "1" in response.json()["message"] and "You already" not in response.json()["message"]


def test_detail_shows_prompt_model_size_cost_date_download_delete_and_reuse(owner_client, owner):
    job = make_image_job(owner, prompt="a fox & a <hen>", model="cogview-4-250304", size="768x1344", quality="hd")
    html = owner_client.get(f"/images/{job.pk}/").content.decode()
    assert "a fox &amp; a &lt;hen&gt;" in html and "<hen>" not in html
    for text in ("cogview-4-250304", "768x1344", "hd", "¥0.05"):
        assert text in html
    assert f'<time datetime="{job.created_at.isoformat()}' in html or "datetime=" in html
    assert f'href="/images/{job.pk}/image/?download=1"' in html
    assert f'href="/images/{job.pk}/delete/"' in html
    assert 'href="/images/?prompt=a+fox+%26+a+%3Chen%3E&amp;model=cogview-4-250304&amp;size=768x1344&amp;quality=hd"' in html


def test_use_this_prompt_again_fills_in_the_form(owner_client):
    html = owner_client.get("/images/?prompt=a+blue+whale&model=cogview-4-250304&size=720x1440&quality=hd").content.decode()
    assert re.search(r">\s*a blue whale</textarea>", html)
    assert '<option value="720x1440" selected>' in html
    assert '<option value="cogview-4-250304" selected>' in html


def test_picture_files_are_served_to_the_owner_with_their_type_and_nosniff(owner_client, owner):
    job = make_image_job(owner)
    response = owner_client.get(f"/images/{job.pk}/image/")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png" and response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("inline")
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    download = owner_client.get(f"/images/{job.pk}/image/?download=1")
    assert download["Content-Disposition"] == f'attachment; filename="glm-image-{job.pk}.png"'
    thumbnail = owner_client.get(f"/images/{job.pk}/thumbnail/")
    assert thumbnail["Content-Type"] == "image/jpeg" and thumbnail["X-Content-Type-Options"] == "nosniff"


def test_unfinished_jobs_have_no_file(owner_client, owner):
    job = make_image_job(owner, status="running")
    assert owner_client.get(f"/images/{job.pk}/image/").status_code == 404


def test_someone_elses_picture_is_not_found_anywhere(client, owner):
    job = make_image_job(owner)
    client.force_login(make_user("stranger"))
    for path in ("", "status/", "image/", "thumbnail/", "delete/"):
        assert client.get(f"/images/{job.pk}/{path}").status_code == 404, path
    assert client.post(f"/images/{job.pk}/delete/").status_code == 404
    assert ImageJob.objects.filter(pk=job.pk).exists()


def test_status_endpoint_reports_a_failure_in_the_users_language(owner_client, owner):
    job = make_image_job(owner, status="failed")
    english = owner_client.get(f"/images/{job.pk}/status/").json()["job"]
    assert english["status"] == "failed" and english["error"] == {"code": "1301", "message": "Blocked."}
    chinese = owner_client.get(f"/images/{job.pk}/status/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()["job"]
    assert chinese["error"]["message"] == "已拦截。"


def test_deleting_a_picture_removes_it_and_its_files_but_keeps_what_it_cost(
    owner_client, owner, django_capture_on_commit_callbacks
):
    job = make_image_job(owner)
    record_image_usage(user_id=owner.pk, model="cogview-4", images=1, charge_key=f"image-job:{job.pk}", image_job_id=job.pk)
    names = (job.image.name, job.thumbnail.name)
    assert owner_client.get(f"/images/{job.pk}/delete/").status_code == 200  # asks first
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(f"/images/{job.pk}/delete/")
    assert response.status_code == 302 and response["Location"] == "/images/"
    assert not ImageJob.objects.filter(pk=job.pk).exists()
    assert not any(default_storage.exists(name) for name in names)
    charge = UsageRecord.objects.get(charge_key=f"image-job:{job.pk}")
    assert charge.image_job_id is None and charge.cost == job.cost


def test_a_picture_still_being_made_cannot_be_deleted(owner_client, owner):
    job = make_image_job(owner, status="running")
    response = owner_client.post(f"/images/{job.pk}/delete/", HTTP_ACCEPT="application/json")
    assert response.status_code == 409 and response.json()["code"] == "busy"
    assert ImageJob.objects.filter(pk=job.pk).exists()


def test_a_failed_job_can_be_dismissed(owner_client, owner):
    job = make_image_job(owner, status="failed")
    response = owner_client.post(f"/images/{job.pk}/delete/", HTTP_ACCEPT="application/json")
    assert response.json() == {"deleted": job.pk}
    assert not ImageJob.objects.filter(pk=job.pk).exists()
