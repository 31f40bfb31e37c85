"""Uploading, serving and removing photos. Every view goes through the ownership selectors."""
from django.conf import settings
from django.http import FileResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from . import attachments, selectors
from .frames import attachment_payload
from .photos import PhotoRefused
from .refusals import ChatRefused


def _refusal(code: str, message, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": str(message)}}, status=status)


@require_POST
def upload(request, pk):
    conversation = selectors.access_conversation(user=request.user, conversation_id=pk)
    upload_file = request.FILES.get("file")
    if upload_file is None:
        return _refusal("missing_file", _("Choose a photo to upload."))

    if upload_file.size > settings.ATTACHMENT_MAX_BYTES:
        # Refused from the declared size, before the bytes are read into memory.
        return _refusal(
            "too_large", _("The file is larger than %(mb)s MB.") % {"mb": settings.ATTACHMENT_MAX_BYTES // (1024 * 1024)}
        )
    try:
        attachment = attachments.attachment_create(
            conversation=conversation, data=upload_file.read(), original_name=upload_file.name or ""
        )
    except PhotoRefused as refused:
        return _refusal(refused.code, refused.message)
    return JsonResponse(attachment_payload(attachment), status=201)


def _serve(field, content_type: str) -> FileResponse:
    response = FileResponse(field.open("rb"), content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = "inline"
    response["Cache-Control"] = "private, max-age=3600"
    # Belt and braces: even if a browser sniffed these bytes, nothing in them may run.
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@require_GET
def photo(request, attachment_id):
    attachment = selectors.access_attachment(user=request.user, attachment_id=attachment_id)
    return _serve(attachment.file, attachment.content_type)


@require_GET
def thumbnail(request, attachment_id):
    attachment = selectors.access_attachment(user=request.user, attachment_id=attachment_id)
    content_type = "image/png" if attachment.thumbnail.name.endswith(".png") else "image/jpeg"
    return _serve(attachment.thumbnail, content_type)


@require_POST
def remove(request, attachment_id):
    attachment = selectors.access_attachment(user=request.user, attachment_id=attachment_id)
    try:
        attachments.attachment_delete(attachment=attachment)
    except ChatRefused as refused:
        return _refusal(refused.code, refused.message, status=409)
    return JsonResponse({"deleted": attachment_id})
