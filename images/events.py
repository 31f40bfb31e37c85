"""Telling a user's open pages that one of their jobs changed.

Events leave only after the transaction that made the change commits, so nothing is announced
that was rolled back. With the in-memory channel layer an event sent by a worker process reaches
no socket (the sockets live in the web process); pages poll the status endpoint as well, which
is why polling is the fallback and not an afterthought.
"""
from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from . import selectors
from .models import ImageJob
from .payloads import job_data

log = logging.getLogger(__name__)

EVENT_TYPE = "image.job"


def user_group(user_id: int) -> str:
    return f"images.user.{int(user_id)}"


def announce_on_commit(job_id: int) -> None:
    transaction.on_commit(lambda: announce(job_id))


def announce(job_id: int) -> None:
    """Send the job's current state, and the user's queue positions, to the user's group."""
    job = ImageJob.objects.filter(pk=job_id).first()
    if job is None:
        return
    positions = selectors.queue_positions(user_id=job.user_id)
    event = {
        "type": EVENT_TYPE,
        "job": job_data(job, position=positions.get(job.pk)),
        # JSON object keys are strings; so are they here, for every channel layer alike.
        "positions": {str(job_id): place for job_id, place in positions.items()},
    }
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(user_group(job.user_id), event)
    except Exception:
        # A page that misses a push still polls; the job itself must not fail over it.
        log.warning("could not announce image job %s", job_id, exc_info=True)
