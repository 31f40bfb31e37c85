"""The chat's tool registry: schemas offered to the model, and tool calls run for a user."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from channels.db import database_sync_to_async
from django.conf import settings as django_settings

from chat.tools import run_tool, tool_schemas
from glm.events import Finish, TextDelta, ToolCall
from glm.retry import NO_RETRY
from glm.stream import AsyncChatClient
from images import selectors as image_selectors
from images.models import ImageJob
from images.options import RECOMMENDED_SIZES
from tests.factories import make_conversation, make_user
from tests.images.factories import make_image_job
from tests.images.fixtures import image_broker, image_worker, image_worker_harness, wait_for_job  # noqa: F401  (fixtures)

FUNCTION_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


@pytest.fixture
def owner(db):
    return make_user("alice")


@pytest.fixture
def conversation(owner):
    return make_conversation(owner)


def _run(name, arguments, user, conversation, **extra):
    return run_tool(name=name, arguments_json=json.dumps(arguments), user=user, conversation=conversation, **extra)


def test_every_tool_is_offered_in_the_api_tools_format():
    schemas = tool_schemas()
    assert [schema["function"]["name"] for schema in schemas] == ["generate_image", "current_time"]
    for schema in schemas:
        assert schema["type"] == "function"
        function = schema["function"]
        assert FUNCTION_NAME.match(function["name"]) and function["description"]
        assert function["parameters"]["type"] == "object"
        assert set(function["parameters"]["required"]) <= set(function["parameters"]["properties"])
    image = schemas[0]["function"]["parameters"]
    assert image["required"] == ["prompt"] and image["properties"]["size"]["enum"] == list(RECOMMENDED_SIZES)
    json.dumps(schemas)  # goes on the wire as it is


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name, arguments_json, code",
    [
        ("launch_rockets", "{}", "unknown_tool"),
        ("current_time", "{not json", "bad_arguments"),
        ("current_time", "[1, 2]", "bad_arguments"),
        ("current_time", '{"time_zone": "Mars/Olympus"}', "bad_arguments"),
        ("current_time", '{"time_zone": 8}', "bad_arguments"),
        ("generate_image", "{}", "bad_arguments"),
        ("generate_image", '{"prompt": "a fox", "size": "999x999"}', "bad_arguments"),
    ],
)
def test_bad_calls_come_back_as_error_results_never_as_exceptions(owner, conversation, name, arguments_json, code):
    result = run_tool(name=name, arguments_json=arguments_json, user=owner, conversation=conversation)
    assert result["code"] == code and result["error"]
    assert not ImageJob.objects.exists()


@pytest.mark.django_db
def test_current_time_is_in_the_users_zone_with_the_weekday(owner, conversation, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    result = _run("current_time", {}, owner, conversation)
    moment = datetime.fromisoformat(result["iso"])
    assert abs(moment - datetime.now(ZoneInfo("Asia/Shanghai"))) < timedelta(seconds=5)
    assert result["time_zone"] == "Asia/Shanghai" and result["utc_offset"] == "+0800"
    assert result["weekday"] == moment.strftime("%A") and result["date"] == moment.date().isoformat()


@pytest.mark.django_db
def test_current_time_in_a_zone_the_model_names(owner, conversation):
    result = _run("current_time", {"time_zone": "America/New_York"}, owner, conversation)
    assert result["time_zone"] == "America/New_York" and result["utc_offset"] in ("-0500", "-0400")


@pytest.mark.django_db
def test_generate_image_queues_a_job_for_the_user_in_the_conversation(owner, conversation):
    result = _run("generate_image", {"prompt": "a red fox", "size": "768x1344", "style": "ignored"}, owner, conversation,
                  tool_call_id="call_abc")
    job = ImageJob.objects.get(pk=result["job_id"])
    assert (result["status"], result["position_in_queue"], result["size"]) == ("queued", 1, "768x1344")
    assert (job.user, job.conversation, job.tool_call_id) == (owner, conversation, "call_abc")
    assert (job.prompt, job.model, job.size) == ("a red fox", django_settings.IMAGE_TOOL_MODEL, "768x1344")


@pytest.mark.django_db
def test_generate_image_beyond_the_users_limit_is_refused_in_words_for_the_model(owner, conversation, settings):
    settings.IMAGE_MAX_ACTIVE_JOBS_PER_USER = 1
    make_image_job(owner, status="running")
    result = _run("generate_image", {"prompt": "a red fox"}, owner, conversation)
    assert result["status"] == "refused" and result["code"] == "too_many_jobs"
    assert result["error"].startswith("You already have 1 picture waiting")
    assert ImageJob.objects.filter(user=owner).count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.glm
async def test_model_asks_for_a_picture_and_it_appears_in_the_conversation_and_the_gallery(image_worker, emulator):
    owner = await database_sync_to_async(make_user)("alice")
    conversation = await database_sync_to_async(make_conversation)(owner)
    client = AsyncChatClient(api_key=django_settings.ZHIPUAI_API_KEY, base_url=django_settings.ZHIPUAI_BASE_URL, retry=NO_RETRY)
    messages = [{"role": "user", "content": "Please draw a picture of a red fox"}]
    try:
        first = [event async for event in client.stream_chat(model="glm-4-flash", messages=messages, tools=tool_schemas())]
        (call,) = [event for event in first if isinstance(event, ToolCall)]
        assert call.name == "generate_image" and first[-1].reason == "tool_calls"
        assert "red fox" in json.loads(call.arguments)["prompt"]

        result = await database_sync_to_async(run_tool)(
            name=call.name, arguments_json=call.arguments, user=owner, conversation=conversation, tool_call_id=call.id
        )
        assert result["status"] == "queued"

        messages += [
            {"role": "assistant", "content": "",
             "tool_calls": [{"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}]},
            {"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)},
        ]
        second = [event async for event in client.stream_chat(model="glm-4-flash", messages=messages, tools=tool_schemas())]
    finally:
        await client.aclose()
    reply = "".join(event.text for event in second if isinstance(event, TextDelta))
    assert isinstance(second[-1], Finish) and second[-1].reason == "stop"
    assert reply.startswith("Tool generate_image returned:") and f'"job_id": {result["job_id"]}' in reply

    job = await database_sync_to_async(wait_for_job)(result["job_id"], "succeeded", "failed", worker=image_worker)
    assert job.status == "succeeded"
    in_conversation = await database_sync_to_async(image_selectors.conversation_image_jobs)(conversation_id=conversation.pk)
    assert [(j.pk, j.tool_call_id, j.status) for j in in_conversation] == [(job.pk, call.id, "succeeded")]
    gallery = await database_sync_to_async(lambda: list(image_selectors.gallery_page(user=owner, page_number=1)))()
    assert [j.pk for j in gallery] == [job.pk]
