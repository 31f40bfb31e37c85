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
from .bulk_messages import insert_messages
from .context import Photos, ReplyPlan, plan_reply
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


def _busy() -> ChatRefused:
    return ChatRefused("busy", _("A reply is still being written. Stop it or wait for it to finish."))


def _lock_idle_conversation(conversation_id: int) -> Conversation:
    """Lock the conversation row so two tabs cannot start two replies at once."""
    conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
    if conversation.messages.filter(status=Message.Status.STREAMING).exists():
        raise _busy()
    return conversation


def _checked_plan(
    conversation: Conversation, history: list[Message], prices: dict | None = None, photos: Photos = None
) -> ReplyPlan:
    """What the model will be sent, once the user's budget and rate allow the call. The budget
    first: it only reads, and the rate counts a request only when it lets it through, so a
    refusal leaves no trace to undo."""
    plan = plan_reply(conversation=conversation, history=history, photos=photos)
    estimate = estimate_chat_cost(model=plan.model, messages=plan.messages, max_tokens=plan.max_tokens, prices=prices)
    try:
        ensure_within_budget(user=conversation.user_id, estimated_cost=estimate)
        check_user_rate(user=conversation.user_id)
    except (BudgetExceeded, RateLimited) as refused:
        raise ChatRefused(refused.code, refused.message) from None
    return plan


def _new_reply(conversation: Conversation, plan: ReplyPlan, runner_channel: str) -> Message:
    return Message(
        conversation=conversation,
        role=Message.Role.ASSISTANT,
        status=Message.Status.STREAMING,
        model=plan.model,
        runner_channel=runner_channel,
    )


def _job(conversation: Conversation, reply: Message, plan: ReplyPlan, history: list[Message]) -> ReplyJob:
    return ReplyJob(
        message_id=reply.pk,
        conversation_id=conversation.pk,
        user_id=conversation.user_id,
        model=plan.model,
        messages=plan.messages,
        kind=plan.kind,
        temperature=conversation.temperature,
        top_p=conversation.top_p,
        max_tokens=plan.max_tokens,
        runner_channel=reply.runner_channel,
        first_exchange=len(history) == 1 and not conversation.title_is_custom,
        # The vision models' small context is kept for the photos.
        offer_tools=plan.kind == "chat",
    )


def _start_reply(conversation: Conversation, runner_channel: str) -> tuple[Message, ReplyJob]:
    history = list(conversation.messages.order_by("id").prefetch_related("attachments"))
    # Refused inside the caller's transaction: what it wrote is not kept either.
    plan = _checked_plan(conversation, history)
    reply = _new_reply(conversation, plan, runner_channel)
    reply.save(force_insert=True)
    conversation.updated_at = timezone.now()
    conversation.save(update_fields=["updated_at"])
    return reply, _job(conversation, reply, plan, history)


@dataclass(frozen=True)
class NewMessage:
    """What a send frame asks for: a message in a conversation, with the photos it names."""

    conversation_id: int
    text: object
    runner_channel: str
    attachment_ids: object = field(default_factory=list)  # as the frame gave it: checked later


def reply_to_new_message(*, conversation_id: int, text, runner_channel: str, attachment_ids=None) -> ReplyStart:
    """Store the user's message (with the photos it names), then the (empty, streaming) reply."""
    (outcome,) = reply_to_new_messages(
        [NewMessage(conversation_id=conversation_id, text=text, runner_channel=runner_channel,
                    attachment_ids=[] if attachment_ids is None else attachment_ids)]
    )
    if isinstance(outcome, ChatRefused):
        raise outcome
    return outcome


@transaction.atomic
def reply_to_new_messages(requests: list[NewMessage]) -> list[ReplyStart | ChatRefused]:
    """reply_to_new_message for messages sent at the same moment: one transaction and the same
    few queries however many there are (a burst of sends would otherwise queue one by one on
    the database thread), but for photos named and, on the embedded defaults, the per-user
    rate limiter's own bookkeeping. Each outcome is what that message alone would have got; a
    refused one leaves nothing behind, as it would alone."""
    outcomes: list[ReplyStart | ChatRefused | None] = [None] * len(requests)
    accepted = _accept(requests, outcomes)
    # Read before the new messages are stored: those are known already, with their photos.
    earlier, photos = _histories([item.conversation.pk for item in accepted])
    user_messages = insert_messages(
        [Message(conversation=item.conversation, role=Message.Role.USER, text=item.text) for item in accepted]
    )
    for message, item in zip(user_messages, accepted):
        if item.photos:
            attach_to_message(attachments=item.photos, message=message)
        photos[message.pk] = item.photos
    prices: dict = {}  # each model's price, read once for the whole burst
    planned = []
    for message, item in zip(user_messages, accepted):
        history = earlier[item.conversation.pk] + [message]
        try:
            plan = _checked_plan(item.conversation, history, prices, photos)
        except ChatRefused as refused:
            _forget(message)
            outcomes[item.index] = refused
            continue
        reply = _new_reply(item.conversation, plan, item.request.runner_channel)
        planned.append((item, message, history, plan, reply))
    insert_messages([reply for *_rest, reply in planned])
    Conversation.objects.filter(pk__in=[item.conversation.pk for item, *_rest in planned]).update(
        updated_at=timezone.now()
    )
    for item, message, history, plan, reply in planned:
        outcomes[item.index] = ReplyStart(
            job=_job(item.conversation, reply, plan, history),
            reply=reply,
            user_message=message,
            user_attachments=item.photos,
        )
    return outcomes


@dataclass
class _Accepted:
    index: int
    request: NewMessage
    conversation: Conversation
    text: str
    photos: list[Attachment]


def _accept(requests: list[NewMessage], outcomes: list) -> list[_Accepted]:
    """The requests that may be stored, each with its locked conversation, checked text and
    photos; the others get their refusal in outcomes. One new message per conversation."""
    conversations = Conversation.objects.select_for_update().in_bulk({request.conversation_id for request in requests})
    writing = set(
        Message.objects.filter(conversation__in=list(conversations), status=Message.Status.STREAMING)
        .values_list("conversation_id", flat=True)
    )
    accepted = []
    for index, request in enumerate(requests):
        conversation = conversations.get(request.conversation_id)
        try:
            if conversation is None:
                raise ChatRefused("not_found", _("That conversation does not exist."))
            if conversation.pk in writing:
                raise _busy()
            photos = attachments_for_message(conversation=conversation, ids=request.attachment_ids)
            text = _validated_text(request.text, with_photos=bool(photos))
        except ChatRefused as refused:
            outcomes[index] = refused
            continue
        writing.add(conversation.pk)  # a second message to it in the same burst finds it busy
        accepted.append(_Accepted(index, request, conversation, text, photos))
    return accepted


def _histories(conversation_ids: list[int]) -> tuple[dict[int, list[Message]], dict[int, list[Attachment]]]:
    """Each conversation's messages in order, and the photos of their user messages by message
    id: two queries, one when none of the messages is the user's."""
    histories: dict[int, list[Message]] = {pk: [] for pk in conversation_ids}
    for message in Message.objects.filter(conversation__in=conversation_ids).order_by("id"):
        histories[message.conversation_id].append(message)
    photos: dict[int, list[Attachment]] = {}
    asked = [message.pk for history in histories.values() for message in history if message.role == Message.Role.USER]
    if asked:
        for photo in Attachment.objects.filter(message__in=asked):
            photos.setdefault(photo.message_id, []).append(photo)
    return histories, photos


def _forget(message: Message) -> None:
    """Undo a refused message: its photos become unsent again, the message goes."""
    Attachment.objects.filter(message=message).update(message=None)
    message.delete()


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
