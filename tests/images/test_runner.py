"""The runner in this process (the worker tests run it in a real worker): the paths a worker
rarely takes."""
from __future__ import annotations

import pytest

from images import runner
from images.services import Runner
from tests.factories import make_user
from usage.models import UsageRecord

from .factories import make_image_job

pytestmark = [pytest.mark.django_db, pytest.mark.glm]

RUN = Runner(worker="here@test", worker_boot="boot", task_id="task")


def test_a_rerun_whose_saved_link_has_expired_asks_cogview_again(emulator):
    owner = make_user("painter")
    job = make_image_job(
        owner, status="queued", prompt="a teal kite", size="864x1152",
        source_url=f"{emulator.root_url}/files/{'0' * 32}_0.png",  # served once, expired since
    )
    runner.run_job(job_id=job.pk, runner=RUN)
    job.refresh_from_db()
    assert job.status == "succeeded", job.error_detail
    assert job.source_url.startswith(emulator.root_url) and "0" * 32 not in job.source_url
    assert (job.width, job.height, job.attempts) == (864, 1152, 1)
    assert UsageRecord.objects.filter(image_job=job).count() == 1
