"""The ledger against the emulator: every billable reply writes exactly one row whose figures
are the ones the API reported (or, for a reply cut before any usage came, an estimate marked
as such), priced at the unit prices of that moment."""
import io

import httpx
import pytest
from channels.db import database_sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from chat import replies
from chat.models import Message
from glm.pricing import chat_cost
from glm.tokens import IMAGE_PART_TOKENS, count_prompt_tokens, count_text_tokens
from tests.chat.socket_client import ChatSocket
from tests.factories import make_conversation, make_user
from usage.ledger import current_price
from usage.models import UsageRecord

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.glm]


@pytest.fixture
async def owner():
    return await database_sync_to_async(make_user)("payer", password=None)


async def _conversation(owner, model="glm-5"):
    return await database_sync_to_async(make_conversation)(owner, model=model)


def _api_usage(emulator, *, model, text, **options) -> dict:
    """What the API bills for a first message `text`, asked directly over HTTP."""
    response = httpx.post(
        f"{emulator.base_url}/chat/completions",
        headers={"Authorization": f"Bearer {emulator.api_key}"},
        json={"model": model, "messages": [{"role": "user", "content": text}], **options},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()["usage"]


async def _reply_to(owner, conversation, text, *, stop_after_deltas=None):
    async with ChatSocket(owner, conversation.pk) as socket:
        await socket.receive()
        await socket.send({"type": "send", "text": text})
        frames = []
        reply_id = None
        # With the Redis layer, frames published in the same instant may arrive in any order:
        # a quick failure's "done" can come before the reply's "message".
        while reply_id is None:
            frame = await socket.receive()
            frames.append(frame)
            if frame["type"] == "message" and frame["message"]["role"] == "assistant":
                reply_id = frame["message"]["id"]
            elif frame["type"] == "done":
                reply_id = frame["message_id"]
        if stop_after_deltas is not None:
            while sum(1 for f in frames if f["type"] == "delta" and f["message_id"] == reply_id) < stop_after_deltas:
                frames.append(await socket.receive())
            await socket.send({"type": "stop"})
        if frames[-1]["type"] != "done":
            frames += await socket.receive_until("done", message_id=reply_id)
        await replies.wait_for_replies()
    return reply_id, frames[-1]


def _rows(message_id):
    return list(UsageRecord.objects.filter(message_id=message_id))


async def test_a_complete_reply_is_charged_exactly_the_usage_the_api_reported(owner, emulator):
    conversation = await _conversation(owner)
    text = "What does a kilo of feathers weigh? [[glm-len:57]]"
    reply_id, done = await _reply_to(owner, conversation, text)
    expected = _api_usage(emulator, model="glm-5", text=text)

    (row,) = await database_sync_to_async(_rows)(reply_id)
    message = await database_sync_to_async(Message.objects.get)(pk=reply_id)
    assert (row.prompt_tokens, row.completion_tokens) == (expected["prompt_tokens"], expected["completion_tokens"]) == (
        expected["prompt_tokens"], 57,
    )
    assert row.cached_tokens == expected["prompt_tokens_details"]["cached_tokens"]
    assert row.exact and row.kind == "chat" and row.model == "glm-5" and row.user_id == owner.pk
    assert row.conversation_id == conversation.pk
    assert row.glm_request_id and row.glm_request_id == message.glm_request_id
    price = await database_sync_to_async(current_price)("glm-5")
    assert (row.input_price_per_million, row.output_price_per_million) == (price.input_per_million, price.output_per_million)
    assert row.cost == chat_cost(price, prompt_tokens=row.prompt_tokens, completion_tokens=57)
    assert done["cost"] == str(row.cost) and message.cost == row.cost


async def test_a_stopped_reply_is_charged_an_estimate_of_what_was_generated_marked_as_such(owner, emulator):
    conversation = await _conversation(owner)
    text = "Tell me everything [[glm-len:400]] [[glm-slow:30]]"
    reply_id, done = await _reply_to(owner, conversation, text, stop_after_deltas=5)

    (row,) = await database_sync_to_async(_rows)(reply_id)
    message = await database_sync_to_async(Message.objects.get)(pk=reply_id)
    assert done["status"] == "stopped" and not row.exact and message.usage_estimated
    # The estimate rule (docs/gateway.md): the prompt by the token rule, the text received.
    assert row.prompt_tokens == count_prompt_tokens([{"role": "user", "content": text}])
    assert row.prompt_tokens == _api_usage(emulator, model="glm-5", text=text, max_tokens=1)["prompt_tokens"]
    assert row.completion_tokens == count_text_tokens(message.text) and 5 <= row.completion_tokens < 400
    price = await database_sync_to_async(current_price)("glm-5")
    assert row.cost == chat_cost(price, prompt_tokens=row.prompt_tokens, completion_tokens=row.completion_tokens) > 0


async def test_a_stream_cut_by_the_network_is_charged_the_usage_the_api_reported(owner, emulator):
    conversation = await _conversation(owner)
    reply_id, done = await _reply_to(owner, conversation, "go on [[glm-len:90]] [[glm-cut:network_error@7]]")
    (row,) = await database_sync_to_async(_rows)(reply_id)
    assert done["status"] == "error" and row.exact and row.completion_tokens == 7


@pytest.mark.parametrize("trigger", ["[[glm-error:1301]]", "[[glm-error:1113]]", "[[glm-error:1305]]"])
async def test_a_request_the_api_refused_is_not_charged(owner, emulator, trigger):
    conversation = await _conversation(owner)
    emulator.reset()
    reply_id, done = await _reply_to(owner, conversation, f"refuse me {trigger}")
    assert done["status"] == "error"
    assert await database_sync_to_async(_rows)(reply_id) == []
    refused = [r for r in emulator.requests() if "refuse me" in (r.get("last_user_text") or "")]
    assert refused and all(r["status"] >= 400 for r in refused)


async def test_a_retried_request_is_charged_once(owner, emulator):
    conversation = await _conversation(owner)
    emulator.reset()
    text = "lucky on the third go [[glm-error:1302#2]] [[glm-len:12]]"
    reply_id, done = await _reply_to(owner, conversation, text)
    # The reply's requests carry its one message; the title request that follows has two.
    attempts = [r["status"] for r in emulator.requests()
                if r["message_count"] == 1 and "third go" in (r["last_user_text"] or "")]
    assert attempts == [429, 429, 200]
    (row,) = await database_sync_to_async(_rows)(reply_id)
    assert done["status"] == "complete" and row.exact and row.completion_tokens == 12
    assert await database_sync_to_async(UsageRecord.objects.filter(user=owner, kind="chat").count)() == 1


def _upload_photo(owner, conversation) -> int:
    client = Client()
    client.force_login(owner)
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (220, 20, 20)).save(buffer, format="PNG")
    response = client.post(
        f"/c/{conversation.pk}/attachments/", {"file": SimpleUploadedFile("red.png", buffer.getvalue())}
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


async def test_a_vision_reply_is_charged_as_vision_with_the_image_tokens_the_api_counted(owner, emulator, settings):
    settings.GLM_PRICE_OVERRIDES = "glm-4v-plus:10:20"  # the manual has no vision price
    conversation = await _conversation(owner, model="glm-4-flash")
    photo = await database_sync_to_async(_upload_photo)(owner, conversation)
    async with ChatSocket(owner, conversation.pk) as socket:
        await socket.receive()
        await socket.send({"type": "send", "text": "What is this?", "attachments": [photo]})
        frames = await socket.receive_until("done")
        await replies.wait_for_replies()
    reply_id = next(f["message"]["id"] for f in frames if f["type"] == "message" and f["message"]["role"] == "assistant")
    (row,) = await database_sync_to_async(_rows)(reply_id)
    expected_prompt = count_prompt_tokens([{"role": "user", "content": [{"type": "text", "text": "What is this?"}]}])
    assert row.kind == "vision" and row.model == "glm-4v-plus" and row.exact
    assert row.prompt_tokens == expected_prompt + IMAGE_PART_TOKENS
    assert row.completion_tokens == count_text_tokens(frames[-1]["text"])
    assert (row.input_price_per_million, row.output_price_per_million) == (10, 20)
    assert row.cost == chat_cost(
        await database_sync_to_async(current_price)("glm-4v-plus"),
        prompt_tokens=row.prompt_tokens, completion_tokens=row.completion_tokens,
    )
