"""The images socket at /ws/images/: the logged-in user's job updates, and nobody else's."""
from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from images import services
from images.failures import JobFailed
from images.routing import websocket_urlpatterns
from images.services import Runner
from tests.factories import make_user

from .factories import make_image_job

pytestmark = pytest.mark.django_db(transaction=True)


class ImagesSocket:
    def __init__(self, user, *, language="en"):
        self.communicator = WebsocketCommunicator(
            URLRouter(websocket_urlpatterns), "/ws/images/", headers=[(b"accept-language", language.encode())]
        )
        self.communicator.scope["user"] = user

    async def __aenter__(self):
        connected, _ = await self.communicator.connect()
        assert connected
        return self

    async def __aexit__(self, *exc):
        await self.communicator.disconnect()

    async def receive(self, timeout=5):
        return json.loads(await self.communicator.receive_from(timeout=timeout))


async def test_a_socket_without_a_login_is_closed_with_4401():
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/images/")
    communicator.scope["user"] = AnonymousUser()
    await communicator.connect()
    output = await communicator.receive_output(5)
    assert output == {"type": "websocket.close", "code": 4401}
    await communicator.disconnect()


async def test_on_connect_the_user_gets_their_unfinished_jobs_with_queue_positions():
    owner, other = await database_sync_to_async(lambda: (make_user("painter"), make_user("other")))()
    running = await database_sync_to_async(make_image_job)(owner, status="running")
    queued = await database_sync_to_async(make_image_job)(owner, status="queued")
    await database_sync_to_async(make_image_job)(owner, status="succeeded")
    await database_sync_to_async(make_image_job)(other, status="queued")
    async with ImagesSocket(owner) as socket:
        frame = await socket.receive()
    assert frame["type"] == "jobs"
    assert [(job["id"], job["status"], job["position"]) for job in frame["jobs"]] == [
        (running.pk, "running", None),
        (queued.pk, "queued", 1),
    ]


async def test_changes_are_pushed_to_the_owner_only_in_their_language(unread_broker):
    owner, other = await database_sync_to_async(lambda: (make_user("painter"), make_user("other")))()
    async with ImagesSocket(owner, language="zh-hans") as mine, ImagesSocket(other) as theirs:
        assert (await mine.receive())["jobs"] == [] and (await theirs.receive())["jobs"] == []

        job = await database_sync_to_async(services.image_job_create)(user=owner, prompt="a fox")
        created = await mine.receive()
        assert created["type"] == "job"
        assert (created["job"]["id"], created["job"]["status"], created["job"]["position"]) == (job.pk, "queued", 1)
        assert created["positions"] == {str(job.pk): 1}

        runner = Runner(worker="w@h", worker_boot="b", task_id="t")
        await database_sync_to_async(services.image_job_claim)(job_id=job.pk, runner=runner)
        assert (await mine.receive())["job"]["status"] == "running"

        await database_sync_to_async(services.image_job_fail)(job_id=job.pk, failure=JobFailed.own("download_too_big"))
        failed = (await mine.receive())["job"]
        assert failed["status"] == "failed" and failed["error"]["code"] == "download_too_big"
        assert "larger" not in failed["error"]["message"]  # the Chinese text, not the English one

        assert await theirs.communicator.receive_nothing(timeout=0.3)


async def test_the_socket_takes_no_requests():
    owner = await database_sync_to_async(make_user)("painter")
    async with ImagesSocket(owner) as socket:
        await socket.receive()
        await socket.communicator.send_to(text_data='{"type": "create", "prompt": "x"}')
        assert (await socket.receive())["code"] == "unknown_type"
