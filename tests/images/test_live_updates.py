"""A page follows its job from queued to the picture: pushed over the images socket, with the
status endpoint as the fallback. Pushes from a worker process reach the socket through a shared
channel layer (Redis); with the in-memory layer only the web process's own events do, and the
page learns the rest by polling."""
from __future__ import annotations

import asyncio
import uuid

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.test import Client

from images import services
from tests.factories import make_user

from .test_socket import ImagesSocket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.glm]

SHARED_LAYER = settings.CHANNEL_LAYERS["default"]["BACKEND"].startswith("channels_redis.")


def _poll_status(user, job_id) -> dict:
    client = Client()
    client.force_login(user)
    return client.get(f"/images/{job_id}/status/", HTTP_ACCEPT="application/json").json()["job"]


async def test_the_socket_and_the_status_endpoint_follow_a_job_to_its_picture(image_worker, emulator):
    owner = await database_sync_to_async(make_user)("painter")
    prompt = f"a fox at dawn [[glm-slow:400]] ({uuid.uuid4().hex[:8]})"
    async with ImagesSocket(owner) as socket:
        assert (await socket.receive())["jobs"] == []
        job = await database_sync_to_async(services.image_job_create)(user=owner, prompt=prompt)

        queued = await socket.receive()
        assert (queued["job"]["id"], queued["job"]["status"]) == (job.pk, "queued")

        if SHARED_LAYER:
            pushed = [queued["job"]["status"]]
            while pushed[-1] not in ("succeeded", "failed"):
                frame = await socket.receive(timeout=20)
                pushed.append(frame["job"]["status"])
            assert pushed == ["queued", "running", "succeeded"]
            assert frame["job"]["thumbnail_url"] == f"/images/{job.pk}/thumbnail/"
        else:
            polled = []
            for _ in range(400):
                status = (await database_sync_to_async(_poll_status)(owner, job.pk))["status"]
                if not polled or polled[-1] != status:
                    polled.append(status)
                if status in ("succeeded", "failed"):
                    break
                await asyncio.sleep(0.05)
            assert polled[-1] == "succeeded" and "running" in polled
            # The worker's events stayed in the worker's own in-memory layer.
            assert await socket.communicator.receive_nothing(timeout=0.3)
