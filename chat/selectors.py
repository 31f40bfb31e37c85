"""Reads. Every way to a conversation goes through access_conversation, so the ownership
check is written once: someone else's conversation looks exactly like a missing one."""
from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from .models import Attachment, Conversation, Message

SIDEBAR_PAGE_SIZE = 30


def access_conversation(*, user, conversation_id: int) -> Conversation:
    """The user's own conversation, or Http404."""
    try:
        return Conversation.objects.get(pk=conversation_id, user_id=user.pk)
    except (Conversation.DoesNotExist, ValueError, TypeError):
        raise Http404("No such conversation.") from None


def find_conversation(*, user, conversation_id: int) -> Conversation | None:
    """Like access_conversation, for code that answers "not found" its own way (the socket)."""
    try:
        return access_conversation(user=user, conversation_id=conversation_id)
    except Http404:
        return None


def conversation_list(*, user, query: str = "", page: int = 1) -> tuple[list[Conversation], int | None]:
    """One sidebar page, newest activity first, and the next page's number (or None)."""
    conversations: QuerySet[Conversation] = Conversation.objects.filter(user_id=user.pk)
    query = query.strip()
    if query:
        matching_message = Message.objects.filter(conversation=OuterRef("pk"), text__icontains=query)
        conversations = conversations.filter(Q(title__icontains=query) | Exists(matching_message))
    page = max(page, 1)
    start = (page - 1) * SIDEBAR_PAGE_SIZE
    rows = list(
        conversations.order_by("-updated_at", "-id").only("id", "title", "updated_at")[start : start + SIDEBAR_PAGE_SIZE + 1]
    )
    next_page = page + 1 if len(rows) > SIDEBAR_PAGE_SIZE else None
    return rows[:SIDEBAR_PAGE_SIZE], next_page


def conversation_messages(*, conversation: Conversation) -> list[Message]:
    return list(conversation.messages.order_by("id").prefetch_related("attachments"))


def access_attachment(*, user, attachment_id: int) -> Attachment:
    """The user's own photo, or Http404."""
    try:
        return Attachment.objects.select_related("conversation").get(
            pk=attachment_id, conversation__user_id=user.pk
        )
    except (Attachment.DoesNotExist, ValueError, TypeError):
        raise Http404("No such attachment.") from None


def streaming_reply(*, conversation_id: int) -> Message | None:
    return (
        Message.objects.filter(conversation_id=conversation_id, status=Message.Status.STREAMING).order_by("-id").first()
    )
