"""Reads. Every way to one job goes through access_image_job, so the ownership check is
written once: someone else's job looks exactly like a missing one."""
from __future__ import annotations

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.http import Http404

from .models import ImageJob


def access_image_job(*, user, job_id) -> ImageJob:
    """The user's own job, or Http404."""
    try:
        return ImageJob.objects.get(pk=job_id, user_id=user.pk)
    except (ImageJob.DoesNotExist, ValueError, TypeError):
        raise Http404("No such image.") from None


def gallery_page(*, user, page_number) -> Page:
    """One page of the user's finished pictures, newest first."""
    pictures = ImageJob.objects.filter(user_id=user.pk, status=ImageJob.Status.SUCCEEDED).order_by("-id")
    return Paginator(pictures, settings.IMAGE_GALLERY_PAGE_SIZE).get_page(page_number)


def pending_jobs(*, user) -> list[ImageJob]:
    """The user's queued, running and failed jobs, oldest first: the cards above the grid.

    A failed job stays until the user dismisses (deletes) it, so its reason is not missed.
    """
    return list(
        ImageJob.objects.filter(
            user_id=user.pk, status__in=[*ImageJob.ACTIVE_STATUSES, ImageJob.Status.FAILED]
        ).order_by("id")
    )


def active_job_count(*, user_id: int) -> int:
    return ImageJob.objects.filter(user_id=user_id, status__in=ImageJob.ACTIVE_STATUSES).count()


def queue_positions(*, user_id: int) -> dict[int, int]:
    """Each of the user's queued jobs and its place in their queue (1 runs next)."""
    queued = ImageJob.objects.filter(user_id=user_id, status=ImageJob.Status.QUEUED).order_by("id")
    return {job_id: place for place, job_id in enumerate(queued.values_list("id", flat=True), start=1)}


def conversation_image_jobs(*, conversation_id: int) -> list[ImageJob]:
    """Jobs that a conversation's tool calls started, oldest first (for the chat's cards)."""
    return list(ImageJob.objects.filter(conversation_id=conversation_id).order_by("id"))
