"""The automatic title a conversation gets after its first exchange."""
from __future__ import annotations

import logging

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

from glm.errors import GLMError
from usage.ledger import record_chat_usage
from usage.limits import RateLimited, acquire_model_slot

from . import services
from .glm_client import async_chat_client

log = logging.getLogger(__name__)

TITLE_MAX_CHARS = 60
_INSTRUCTION = (
    "Write a short title, at most six words, in the language of the conversation, for a chat "
    "that starts like this. Answer with the title only."
)


def clean_title(raw: str) -> str:
    title = " ".join(raw.split()).strip("\"'“”‘’「」《》 .。")
    if len(title) > TITLE_MAX_CHARS:
        title = title[: TITLE_MAX_CHARS - 1].rstrip() + "…"
    return title


async def write_title(*, job, group: str) -> None:
    """Ask the title model for a title and announce it; a failure leaves the title empty."""
    first_user_text = next((m["content"] for m in job.messages if m["role"] == "user"), "")
    prompt = [
        {"role": "system", "content": _INSTRUCTION},
        {"role": "user", "content": first_user_text[:1000]},
    ]
    try:
        # A title is a nicety: it never waits for, or takes the last of, the model's minute.
        await acquire_model_slot(model=settings.CHAT_TITLE_MODEL, wait_seconds=0)
    except RateLimited:
        log.info("title for conversation %s skipped: the title model is at its limit", job.conversation_id)
        return
    try:
        result = await async_chat_client().complete_chat(
            model=settings.CHAT_TITLE_MODEL, messages=prompt, max_tokens=30, temperature=0.3
        )
    except GLMError as error:
        log.info("title for conversation %s not written: %s", job.conversation_id, error.code)
        return
    title = clean_title(result.text)
    if not title:
        return
    if await database_sync_to_async(_store_title)(job=job, title=title, result=result):
        await get_channel_layer().group_send(group, {"type": "chat.title", "title": title})


def _store_title(*, job, title: str, result) -> bool:
    """Bill the title call and set the title (unless the user named the conversation
    meanwhile), in one trip to the database thread."""
    if result.usage is not None:
        record_chat_usage(
            user_id=job.user_id,
            kind="title",
            model=settings.CHAT_TITLE_MODEL,
            usage=result.usage,
            exact=True,
            charge_key=f"title:{job.conversation_id}:{job.message_id}",
            conversation_id=job.conversation_id,
            glm_request_id=result.request_id,
        )
    return services.conversation_set_auto_title(conversation_id=job.conversation_id, title=title)
