"""In a chat, asking for a picture makes the model call generate_image: the job runs on the
real worker, the reply finishes with the tool's result, and the picture is in the gallery."""
import pytest
from channels.db import database_sync_to_async
from django.test import Client

from chat import replies
from chat.models import Message
from images.models import ImageJob
from tests.chat.socket_client import ChatSocket
from tests.factories import make_conversation, make_user
from usage.models import UsageRecord

from .fixtures import wait_for_job

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.glm]


async def test_a_picture_asked_for_in_chat_is_generated_and_appears_in_the_gallery(image_worker):
    owner = await database_sync_to_async(make_user)("artist")
    conversation = await database_sync_to_async(make_conversation)(owner)
    async with ChatSocket(owner, conversation.pk) as socket:
        await socket.receive()
        await socket.send({"type": "send", "text": "Please draw a picture of a red fox"})
        frames = await socket.receive_until("done")
        await replies.wait_for_replies()

    tool_frame = next(f for f in frames if f["type"] == "tool")
    assert tool_frame["tool"]["name"] == "generate_image"
    job_id = tool_frame["tool"]["result"]["job_id"]
    done = frames[-1]
    assert done["status"] == "complete"
    assert "generate_image" in done["text"] and str(job_id) in done["text"], "the model answered with the result"

    job = await database_sync_to_async(wait_for_job)(job_id, "succeeded", worker=image_worker)
    assert job.conversation_id == conversation.pk and "red fox" in job.prompt

    reply = await database_sync_to_async(Message.objects.get)(pk=done["message_id"])
    assert reply.tools[0]["result"]["job_id"] == job_id, "the card survives a reload"
    # Two API calls (the tool call and the answer), each billed once; the picture once.
    kinds = await database_sync_to_async(
        lambda: sorted(UsageRecord.objects.filter(user=owner).values_list("kind", flat=True))
    )()
    assert kinds.count("image") == 1 and kinds.count("chat") == 2

    def gallery_and_file():
        client = Client()
        client.force_login(owner)
        return client.get("/images/").content.decode(), client.get(f"/images/{job_id}/image/")

    gallery, picture = await database_sync_to_async(gallery_and_file)()
    assert f"/images/{job_id}/" in gallery
    assert picture.status_code == 200 and picture["Content-Type"] == "image/png"


async def test_the_time_tool_answers_in_the_users_zone(settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    owner = await database_sync_to_async(make_user)("clockwatcher")
    conversation = await database_sync_to_async(make_conversation)(owner)
    async with ChatSocket(owner, conversation.pk) as socket:
        await socket.receive()
        await socket.send({"type": "send", "text": "What time is it now?"})
        frames = await socket.receive_until("done")
        await replies.wait_for_replies()
    tool = next(f for f in frames if f["type"] == "tool")["tool"]
    assert tool["name"] == "current_time" and tool["result"]["time_zone"] == "Asia/Shanghai"
    assert tool["result"]["iso"] in frames[-1]["text"]
    assert not await database_sync_to_async(ImageJob.objects.exists)()
