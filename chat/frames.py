"""Turns messages into the JSON frames of docs/protocol.md."""
from __future__ import annotations

from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from .models import Message

LANGUAGES = ("en", "zh-hans")

# Failures the project itself names (not GLM codes): what each viewer is told.
_OWN_ERRORS = {
    "interrupted": _("The reply was interrupted (the server restarted or lost the connection). The text so far is kept."),
}


def both_languages(lazy_text) -> dict:
    """A lazily translated text rendered in every supported language, for storing."""
    rendered = {}
    for language in LANGUAGES:
        with translation.override(language):
            rendered[language] = str(lazy_text)
    return rendered


def pick_language(texts: dict, language: str) -> str:
    return texts.get(language) or texts.get("en") or next(iter(texts.values()), "")


def describe_error(code: str, texts: dict, language: str) -> str:
    """A failure in the viewer's language: the stored texts, else the project's own wording."""
    if texts:
        return pick_language(texts, language)
    with translation.override(language):
        return str(_OWN_ERRORS.get(code, _("The reply failed.")))


def error_of(message: Message, language: str) -> dict | None:
    if not message.error_code:
        return None
    return {"code": message.error_code, "message": describe_error(message.error_code, message.error_detail, language)}


def usage_of(message: Message) -> dict | None:
    if message.completion_tokens is None:
        return None
    return {
        "prompt_tokens": message.prompt_tokens,
        "completion_tokens": message.completion_tokens,
        "estimated": message.usage_estimated,
    }


def message_payload(message: Message, language: str, *, attachments=None) -> dict:
    """The message as a frame; `attachments`, when the caller has them, saves a query."""
    if attachments is None:
        attachments = message.attachments.all()
    return {
        "id": message.pk,
        "role": message.role,
        "text": message.text,
        "status": message.status,
        "model": message.model,
        "created_at": message.created_at.isoformat(),
        "error": error_of(message, language),
        "usage": usage_of(message),
        "cost": None if message.cost is None else str(message.cost),
        "attachments": [attachment_payload(a) for a in attachments],
        "tools": message.tools,
    }


def new_message_payloads(start, language: str) -> list[dict]:
    """The frames of what a send, edit or regenerate stored (a services.ReplyStart), built from
    the rows just saved: the user's message with the photos it brought, and the empty reply.
    New messages carry no error text, so one rendering serves every viewer's language."""
    payloads = []
    if start.user_message is not None:
        payloads.append(message_payload(start.user_message, language, attachments=start.user_attachments))
    payloads.append(message_payload(start.reply, language, attachments=()))
    return payloads


def attachment_payload(attachment) -> dict:
    return {
        "id": attachment.pk,
        "name": attachment.original_name,
        "width": attachment.width,
        "height": attachment.height,
        "url": reverse("chat:attachment", args=[attachment.pk]),
        "thumbnail_url": reverse("chat:attachment_thumbnail", args=[attachment.pk]),
        "resized_for_model": attachment.resized_for_model,
    }
