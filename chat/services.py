"""Writes to conversations and messages. Views and the socket consumer call these; the
reply runner (chat/replies.py) calls the reply_* functions as a reply progresses."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from usage.budgets import BudgetExceeded, ensure_within_budget, estimate_chat_cost
from usage.limits import RateLimited, check_user_rate

from .attachments import attach_to_message, attachments_for_message, delete_files_after_commit
from .context import ReplyPlan, plan_reply
from .models import Attachment, Conversation, Message
from .refusals import ChatRefused

# A streaming reply not flushed for this long has lost its writer (the process died).
STALE_REPLY_AFTER = timedelta(seconds=max(30, settings.CHAT_FLUSH_INTERVAL_SECONDS * 5))


@dataclass(frozen=True)
class ReplyJob:
    """Everything the runner needs to write one reply, fixed when the reply starts."""

    message_id: int
    conversation_id: int
    user_id: int
    model: str
    messages: list[dict]
    kind: str  # "chat" or "vision": how the ledger files the call
    temperature: float
    top_p: float
    max_tokens: int
    runner_channel: str
    first_exchange: bool
    offer_tools: bool


@dataclass
class ReplyStart:
    job: ReplyJob
    reply: Message
    user_message: Message | None = None
    deleted_ids: list[int] = field(default_factory=list)
    # The user message's photos when they are known without asking the database again.
    user_attachments: list[Attachment] | None = None


def conversation_create(*, user) -> Conversation:
    return Conversation.objects.create(
        user=user,
        model=settings.CHAT_DEFAULT_MODEL,
        temperature=settings.CHAT_DEFAULT_TEMPERATURE,
        top_p=settings.CHAT_DEFAULT_TOP_P,
    )


def conversation_rename(*, conversation: Conversation, title: str) -> Conversation:
    conversation.title = title.strip()[:200]
    conversation.title_is_custom = True
    conversation.save(update_fields=["title", "title_is_custom"])
    return conversation


def conversation_update_settings(
    *, conversation: Conversation, model: str, system_prompt: str, temperature: float, top_p: float
) -> Conversation:
    conversation.model = model
    conversation.system_prompt = system_prompt
    conversation.temperature = temperature
    conversation.top_p = top_p
    conversation.save(update_fields=["model", "system_prompt", "temperature", "top_p"])
    return conversation


@transaction.atomic
def conversation_delete(*, conversation: Conversation) -> None:
    delete_files_after_commit(list(conversation.attachments.all()))
    conversation.delete()


def conversation_set_auto_title(*, conversation_id: int, title: str) -> bool:
    """Set the automatic title unless the user has named the conversation meanwhile."""
    return bool(
        Conversation.objects.filter(pk=conversation_id, title_is_custom=False).update(title=title[:200])
    )


def _validated_text(text, *, with_photos: bool = False) -> str:
    if not isinstance(text, str):
        raise ChatRefused("missing_field", _("A message needs some text."))
    text = text.strip()
    if not text and not with_photos:
        raise ChatRefused("empty", _("The message is empty."))
    if len(text) > settings.CHAT_MAX_MESSAGE_CHARS:
        raise ChatRefused(
            "too_long",
            _("The message is too long (at most %(limit)s characters).") % {"limit": settings.CHAT_MAX_MESSAGE_CHARS},
        )
    return text


def _lock_idle_conversation(conversation_id: int) -> Conversation:
    """Lock the conversation row so two tabs cannot start two replies at once."""
    conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
    if conversation.messages.filter(status=Message.Status.STREAMING).exists():
        raise ChatRefused("busy", _("A reply is still being written. Stop it or wait for it to finish."))
    return conversation


def _start_reply(conversation: Conversation, runner_channel: str) -> tuple[Message, ReplyJob]:
    history = list(conversation.messages.order_by("id").prefetch_related("attachments"))
    plan: ReplyPlan = plan_reply(conversation=conversation, history=history)
    try:
        check_user_rate(user=conversation.user_id)
        ensure_within_budget(
            user=conversation.user_id,
            estimated_cost=estimate_chat_cost(model=plan.model, messages=plan.messages, max_tokens=plan.max_tokens),
        )
    except (BudgetExceeded, RateLimited) as refused:
        # Raised inside the transaction: the user's message is not kept either.
        raise ChatRefused(refused.code, refused.message) from None
    reply = Message.objects.create(
        conversation=conversation,
        role=Message.Role.ASSISTANT,
        status=Message.Status.STREAMING,
        model=plan.model,
        runner_channel=runner_channel,
    )
    conversation.updated_at = timezone.now()
    conversation.save(update_fields=["updated_at"])
    job = ReplyJob(
        message_id=reply.pk,
        conversation_id=conversation.pk,
        user_id=conversation.user_id,
        model=plan.model,
        messages=plan.messages,
        kind=plan.kind,
        temperature=conversation.temperature,
        top_p=conversation.top_p,
        max_tokens=plan.max_tokens,
        runner_channel=runner_channel,
        first_exchange=len(history) == 1 and not conversation.title_is_custom,
        # The vision models' small context is kept for the photos.
        offer_tools=plan.kind == "chat",
    )
    return reply, job


@transaction.atomic
def reply_to_new_message(*, conversation_id: int, text, runner_channel: str, attachment_ids=()) -> ReplyStart:
    """Store the user's message (with the photos it names), then the (empty, streaming) reply."""
    conversation = _lock_idle_conversation(conversation_id)
    photos = attachments_for_message(conversation=conversation, ids=attachment_ids)
    text = _validated_text(text, with_photos=bool(photos))
    user_message = Message.objects.create(conversation=conversation, role=Message.Role.USER, text=text)
    attach_to_message(attachments=photos, message=user_message)
    reply, job = _start_reply(conversation, runner_channel)
    return ReplyStart(job=job, reply=reply, user_message=user_message, user_attachments=photos)


@transaction.atomic
def reply_regenerate(*, conversation_id: int, runner_channel: str) -> ReplyStart:
    """Replace the last reply with a new one."""
    conversation = _lock_idle_conversation(conversation_id)
    last = conversation.messages.order_by("-id").first()
    if last is None or last.role != Message.Role.ASSISTANT:
        raise ChatRefused("nothing_to_regenerate", _("There is no reply to regenerate."))
    deleted_ids = [last.pk]
    last.delete()
    reply, job = _start_reply(conversation, runner_channel)
    return ReplyStart(job=job, reply=reply, deleted_ids=deleted_ids)


@transaction.atomic
def reply_after_edit(*, conversation_id: int, message_id, text, runner_channel: str) -> ReplyStart:
    """Change a user message, drop everything after it and reply again (edits replace)."""
    conversation = _lock_idle_conversation(conversation_id)
    try:
        edited = conversation.messages.get(pk=int(message_id), role=Message.Role.USER)
    except (Message.DoesNotExist, ValueError, TypeError):
        raise ChatRefused("not_found", _("That message does not exist.")) from None
    text = _validated_text(text, with_photos=edited.attachments.exists())
    later = conversation.messages.filter(id__gt=edited.pk)
    deleted_ids = list(later.values_list("id", flat=True))
    delete_files_after_commit(list(Attachment.objects.filter(message__in=later)))
    later.delete()
    edited.text = text
    edited.save(update_fields=["text"])
    reply, job = _start_reply(conversation, runner_channel)
    return ReplyStart(job=job, reply=reply, user_message=edited, deleted_ids=deleted_ids)


def reply_save_progress(*, message_id: int, text: str) -> None:
    Message.objects.filter(pk=message_id, status=Message.Status.STREAMING).update(text=text, updated_at=timezone.now())


def reply_finish(
    *,
    message_id: int,
    text: str,
    status: str,
    finish_reason: str = "",
    error_code: str = "",
    error_detail: dict | None = None,
    glm_request_id: str = "",
    tools: list | None = None,
    charge=None,
) -> None:
    """Store the reply's outcome and, when it was billed, its charge (usage.ledger.Charge),
    in one write."""
    fields = dict(
        tools=tools or [],
        text=text,
        status=status,
        finish_reason=finish_reason,
        error_code=error_code,
        error_detail=error_detail or {},
        glm_request_id=glm_request_id,
        runner_channel="",
        updated_at=timezone.now(),
    )
    if charge is not None:
        fields.update(
            prompt_tokens=charge.prompt_tokens,
            completion_tokens=charge.completion_tokens,
            usage_estimated=not charge.exact,
            cost=charge.cost,
        )
    Message.objects.filter(pk=message_id).update(**fields)


def reply_interrupt_if_stale(*, message: Message) -> bool:
    """Mark a streaming reply whose writer stopped flushing as interrupted, keeping its text."""
    if message.status != Message.Status.STREAMING or timezone.now() - message.updated_at < STALE_REPLY_AFTER:
        return False
    updated = Message.objects.filter(pk=message.pk, status=Message.Status.STREAMING).update(
        status=Message.Status.INTERRUPTED, error_code="interrupted", runner_channel=""
    )
    if updated:
        message.status = Message.Status.INTERRUPTED
        message.error_code = "interrupted"
    return bool(updated)
