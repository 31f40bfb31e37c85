"""What the model is sent: which model answers, the system prompt, and as much recent history
as fits its context window.

Photos: a message with photos is answered by the vision model (settings.VISION_MODEL), the
photos sent as base64 parts. Photos of earlier messages are not sent again — the 4v models
have an 8K context and each photo costs about a thousand tokens — but stand in the history as
a short text placeholder, unless the new message asks about them again (it has no photos of
its own and mentions a photo, picture, image or 图/照片/图片): then the most recent message's
photos are sent again, as part of the new message. Text-only messages go to the conversation's own model.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings

from glm.catalog import model_spec
from glm.tokens import count_prompt_tokens

from .attachments import image_part
from .models import Attachment, Conversation, Message

# Statuses whose text the model wrote and the user saw: worth remembering.
_REMEMBERED_REPLY_STATUSES = {Message.Status.COMPLETE, Message.Status.STOPPED, Message.Status.INTERRUPTED}
_ASKS_ABOUT_PHOTOS = re.compile(r"\b(photos?|pictures?|images?|pics?|screenshots?)\b|图|照片|相片", re.IGNORECASE)
# The user messages' photos by message id, when the caller has read them (a burst of sends
# reads them for all its conversations at once); None: each message's prefetched attachments.
Photos = dict[int, list[Attachment]] | None


@dataclass(frozen=True)
class ReplyPlan:
    model: str
    kind: str
    messages: list[dict]
    max_tokens: int


def photo_placeholder(photos: list[Attachment]) -> str:
    described = ", ".join(f"{p.original_name or 'photo'} ({p.width}×{p.height})" for p in photos)
    return f"[{len(photos)} photo(s) attached earlier, not sent again: {described}]"


def _user_content(message: Message, photos_to_send: dict[int, list[Attachment]], photos: Photos):
    sent_here = photos_to_send.get(message.pk)
    if sent_here:
        parts = [image_part(photo) for photo in sent_here]
        if message.text:
            parts.append({"type": "text", "text": message.text})
        return parts
    sent_earlier = _photos_of(message, photos)
    if not sent_earlier:
        return message.text
    return f"{message.text}\n{photo_placeholder(sent_earlier)}".strip()


def _photos_of(message: Message, photos: Photos) -> list[Attachment]:
    if photos is None:
        return list(message.attachments.all())
    return photos.get(message.pk, [])


def history_to_api_messages(
    history: list[Message], *, photos_to_send: dict | None = None, photos: Photos = None
) -> list[dict]:
    api_messages = []
    for message in history:
        if message.role == Message.Role.USER:
            api_messages.append({"role": "user", "content": _user_content(message, photos_to_send or {}, photos)})
        elif message.status in _REMEMBERED_REPLY_STATUSES and message.text:
            api_messages.append({"role": "assistant", "content": message.text})
    return api_messages


def build_context(
    *,
    model: str,
    system_prompt: str,
    history: list[Message],
    max_output_tokens: int,
    photos_to_send: dict[int, list[Attachment]] | None = None,
    photos: Photos = None,
) -> list[dict]:
    """History trimmed oldest-first to the model's context window, keeping room for the reply.

    The system prompt is always kept, and so is the newest user message: a prompt that is too
    long on its own goes to the API, which answers 1261 and the user is told it is too long.
    """
    system = [{"role": "system", "content": system_prompt}] if system_prompt.strip() else []
    turns = history_to_api_messages(history, photos_to_send=photos_to_send, photos=photos)
    budget = model_spec(model).context_tokens - max_output_tokens
    while len(turns) > 1 and count_prompt_tokens(system + turns) > budget:
        turns.pop(0)
    # The API refuses a conversation that starts with an assistant turn after trimming.
    while len(turns) > 1 and turns[0]["role"] != "user":
        turns.pop(0)
    return system + turns


def _photos_to_send(history: list[Message], photos: Photos) -> dict[int, list[Attachment]]:
    """The photos that go to the model with this reply, keyed by the user message carrying them:
    the newest message's own photos, or, when it asks about photos without bringing any, the
    most recent earlier photos, sent along with it."""
    last_user = next((m for m in reversed(history) if m.role == Message.Role.USER), None)
    if last_user is None:
        return {}
    own = _photos_of(last_user, photos)
    if own:
        return {last_user.pk: own}
    if _ASKS_ABOUT_PHOTOS.search(last_user.text):
        earlier = next((m for m in reversed(history) if m.role == Message.Role.USER and _photos_of(m, photos)), None)
        if earlier is not None:
            return {last_user.pk: _photos_of(earlier, photos)}
    return {}


def plan_reply(*, conversation: Conversation, history: list[Message], photos: Photos = None) -> ReplyPlan:
    """What the reply's call sends. `photos` holds the user messages' photos by message id when
    the caller has read them; without it each message's (prefetched) attachments are used."""
    photos_to_send = _photos_to_send(history, photos)
    if photos_to_send:
        model = settings.VISION_MODEL
        max_tokens = min(settings.VISION_MAX_OUTPUT_TOKENS, model_spec(model).max_output_tokens)
        kind = "vision"
    else:
        model = conversation.model
        max_tokens = min(settings.CHAT_MAX_OUTPUT_TOKENS, model_spec(model).max_output_tokens)
        kind = "chat"
    messages = build_context(
        model=model,
        system_prompt=conversation.system_prompt,
        history=history,
        max_output_tokens=max_tokens,
        photos_to_send=photos_to_send,
        photos=photos,
    )
    return ReplyPlan(model=model, kind=kind, messages=messages, max_tokens=max_tokens)
