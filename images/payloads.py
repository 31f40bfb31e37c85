"""A job as JSON, for the status endpoint, the images socket and the chat's image cards.

job_data() is the same for every viewer (errors carry both languages) so that one channel-layer
event serves them all; localize() picks the viewer's language at the edge.
"""
from __future__ import annotations

from django.urls import reverse

from .failures import pick_language
from .models import ImageJob


def job_data(job: ImageJob, *, position: int | None = None) -> dict:
    succeeded = job.status == ImageJob.Status.SUCCEEDED
    return {
        "id": job.pk,
        "status": job.status,
        "prompt": job.prompt,
        "model": job.model,
        "size": job.size,
        "quality": job.quality or None,
        "position": position if job.status == ImageJob.Status.QUEUED else None,
        "attempts": job.attempts,
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "cost": None if job.cost is None else str(job.cost),
        "conversation_id": job.conversation_id,
        "tool_call_id": job.tool_call_id or None,
        "width": job.width if succeeded else None,
        "height": job.height if succeeded else None,
        "detail_url": reverse("images:detail", args=[job.pk]),
        "status_url": reverse("images:status", args=[job.pk]),
        "delete_url": reverse("images:delete", args=[job.pk]),
        "image_url": reverse("images:file", args=[job.pk]) if succeeded else None,
        "thumbnail_url": reverse("images:thumbnail", args=[job.pk]) if succeeded else None,
        "error": {"code": job.error_code, "texts": job.error_detail} if job.error_code else None,
    }


def localize(data: dict, language: str) -> dict:
    """job_data with the error's text in the viewer's language."""
    error = data.get("error")
    if not error:
        return data
    return {**data, "error": {"code": error["code"], "message": pick_language(error.get("texts") or {}, language)}}


def job_payload(job: ImageJob, *, language: str, position: int | None = None) -> dict:
    return localize(job_data(job, position=position), language)
