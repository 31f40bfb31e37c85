"""Image jobs in any state, for tests that do not need a worker to make them."""
from __future__ import annotations

import io
from decimal import Decimal

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image

from images.models import ImageJob


def png_bytes(width: int = 64, height: int = 64, colour: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format="PNG")
    return out.getvalue()


def jpeg_bytes(width: int = 16, height: int = 16, colour: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format="JPEG")
    return out.getvalue()


def make_image_job(user, *, status: str = "succeeded", prompt: str = "a red fox", **fields) -> ImageJob:
    """A job as the worker would leave it; succeeded jobs get real files under MEDIA_ROOT."""
    values = dict(user=user, prompt=prompt, model="cogview-4", size="1024x1024", status=status)
    if status == ImageJob.Status.SUCCEEDED:
        values.update(width=1024, height=1024, content_type="image/png", cost=Decimal("0.050000"), finished_at=timezone.now())
    if status == ImageJob.Status.FAILED:
        values.update(error_code="1301", error_detail={"en": "Blocked.", "zh-hans": "已拦截。"}, finished_at=timezone.now())
    values.update(fields)
    job = ImageJob.objects.create(**values)
    if status == ImageJob.Status.SUCCEEDED and not job.image:
        job.image.name = default_storage.save(f"generated/test/{job.pk}.png", ContentFile(png_bytes()))
        job.thumbnail.name = default_storage.save(f"generated/test/{job.pk}-thumb.jpg", ContentFile(jpeg_bytes()))
        job.save(update_fields=["image", "thumbnail"])
    return job
