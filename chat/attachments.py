"""Photos in conversations: storing an upload, removing it, and handing the ones a message
names to that message."""
from __future__ import annotations

import base64
import uuid

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from glm.catalog import model_spec

from .models import Attachment, Conversation, Message
from .photos import EncodedImage, PhotoRefused, clean_photo
from .refusals import ChatRefused


def _random_name(kind: str, image: EncodedImage) -> str:
    return f"{uuid.uuid4().hex}-{kind}.{image.extension}"


def attachment_create(*, conversation: Conversation, data: bytes, original_name: str) -> Attachment:
    """Validate and store an upload; PhotoRefused leaves nothing behind on disk or in the database."""
    photo = clean_photo(data, max_bytes=settings.ATTACHMENT_MAX_BYTES, max_pixels=settings.ATTACHMENT_MAX_PIXELS)
    attachment = Attachment(
        conversation=conversation,
        content_type=photo.original.content_type,
        width=photo.original.width,
        height=photo.original.height,
        original_name=original_name[:255],
    )
    written = []
    try:
        for field, image, kind in (
            (attachment.file, photo.original, "photo"),
            (attachment.thumbnail, photo.thumbnail, "thumb"),
            (attachment.model_copy, photo.for_model, "model"),
        ):
            if image is not None:
                field.save(_random_name(kind, image), ContentFile(image.data), save=False)
                written.append(field)
        attachment.save()
    except Exception:
        for field in written:
            field.delete(save=False)
        raise
    return attachment


def attachment_delete(*, attachment: Attachment) -> None:
    """Remove a photo that has not been sent yet (sent ones belong to their message)."""
    if attachment.message_id is not None:
        raise ChatRefused("already_sent", _("This photo has been sent and cannot be removed."))
    _delete_files(attachment)
    attachment.delete()


def _delete_files(attachment: Attachment) -> None:
    for field in (attachment.file, attachment.thumbnail, attachment.model_copy):
        if field:
            field.delete(save=False)


def attachments_for_message(*, conversation: Conversation, ids) -> list[Attachment]:
    """The user's unsent photos in this conversation that a send frame names, in its order."""
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise ChatRefused("missing_field", _("Attachments must be a list of ids."))
    if not ids:
        return []
    limit = model_spec(settings.VISION_MODEL).max_images
    if len(ids) > limit:
        raise ChatRefused("too_many_images", _("At most %(n)s photos per message.") % {"n": limit})
    found = {a.pk: a for a in conversation.attachments.filter(pk__in=ids, message__isnull=True)}
    if len(found) != len(set(ids)):
        raise ChatRefused("not_found", _("That attachment does not exist."))
    return [found[i] for i in dict.fromkeys(ids)]


def attach_to_message(*, attachments: list[Attachment], message: Message) -> None:
    Attachment.objects.filter(pk__in=[a.pk for a in attachments]).update(message=message)


def image_part(attachment: Attachment) -> dict:
    """The photo as the API's base64 content part (the API cannot fetch a self-hosted URL)."""
    stored = attachment.model_copy or attachment.file
    with stored.open("rb") as handle:
        encoded = base64.b64encode(handle.read()).decode("ascii")
    return {"type": "image_url", "image_url": {"url": encoded}}


def delete_files_after_commit(attachments) -> None:
    """Remove the stored files of photos whose rows this transaction deletes, once it commits
    (a rolled-back delete keeps its files)."""
    fields = [
        field
        for attachment in attachments
        for field in (attachment.file, attachment.thumbnail, attachment.model_copy)
        if field
    ]
    transaction.on_commit(lambda: [field.storage.delete(field.name) for field in fields])
