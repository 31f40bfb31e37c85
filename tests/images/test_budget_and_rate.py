"""Picture jobs are checked against the user's budget and request rate when they are queued,
before CogView is asked anything."""
import uuid
from decimal import Decimal

import pytest

from images import services
from images.models import ImageJob
from images.services import ImageRefused
from tests.factories import make_user

pytestmark = [pytest.mark.django_db, pytest.mark.glm]


def test_an_over_budget_picture_is_refused_before_the_api_sees_it(emulator, settings):
    settings.USAGE_DEFAULT_MONTHLY_BUDGET = Decimal("0.01")  # a cogview-4 picture costs ¥0.05
    emulator.reset()
    with pytest.raises(ImageRefused) as refused:
        services.image_job_create(user=make_user(), prompt="a mountain lake")
    assert refused.value.code == "budget"
    assert "¥0.05" in str(refused.value.message) and "¥0.01" in str(refused.value.message)
    assert not ImageJob.objects.exists()
    assert emulator.requests() == []


def test_a_user_over_their_request_rate_is_refused(settings):
    settings.USAGE_USER_RPM = 1
    settings.USAGE_RATE_LIMIT_PREFIX = f"test-image-rate-{uuid.uuid4().hex}"
    user = make_user()
    services.image_job_create(user=user, prompt="first picture")
    with pytest.raises(ImageRefused) as refused:
        services.image_job_create(user=user, prompt="second picture")
    assert refused.value.code == "rate_limited"
    assert ImageJob.objects.count() == 1
