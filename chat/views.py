"""Pages and small JSON endpoints. Each view parses input, checks ownership through
selectors.access_conversation and calls one service."""
from django.conf import settings
from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from glm.catalog import model_spec

from . import selectors, services
from .forms import ConversationSettingsForm, RenameForm


def _page_number(request) -> int:
    try:
        return max(int(request.GET.get("page", 1)), 1)
    except ValueError:
        return 1


def _sidebar_context(request) -> dict:
    query = request.GET.get("q", "")
    conversations, next_page = selectors.conversation_list(user=request.user, query=query)
    return {"conversations": conversations, "sidebar_next_page": next_page, "search_query": query}


@require_GET
def home(request):
    conversations, _next = selectors.conversation_list(user=request.user)
    if conversations and not request.GET.get("q"):
        return redirect("chat:conversation", pk=conversations[0].pk)
    return render(request, "chat/home.html", _sidebar_context(request))


@require_POST
def new_conversation(request):
    conversation = services.conversation_create(user=request.user)
    return redirect("chat:conversation", pk=conversation.pk)


@require_GET
def conversation_page(request, pk):
    conversation = selectors.access_conversation(user=request.user, conversation_id=pk)
    context = _sidebar_context(request)
    context.update(
        conversation=conversation,
        settings_form=ConversationSettingsForm(instance=conversation),
        chat_config={
            "conversation_id": conversation.pk,
            "ws_path": f"/ws/chat/{conversation.pk}/",
            "max_message_chars": settings.CHAT_MAX_MESSAGE_CHARS,
            "model": conversation.model,
            # Photos go to the vision model, whatever the conversation's model is.
            "vision_model": settings.VISION_MODEL,
            "max_images": model_spec(settings.VISION_MODEL).max_images,
        },
    )
    return render(request, "chat/conversation.html", context)


@require_POST
def rename_conversation(request, pk):
    conversation = selectors.access_conversation(user=request.user, conversation_id=pk)
    form = RenameForm(request.POST)
    if not form.is_valid():
        return _form_error(request, form, pk)
    services.conversation_rename(conversation=conversation, title=form.cleaned_data["title"])
    if _wants_json(request):
        return JsonResponse({"id": conversation.pk, "title": conversation.title})
    return redirect("chat:conversation", pk=pk)


@require_POST
def conversation_settings(request, pk):
    conversation = selectors.access_conversation(user=request.user, conversation_id=pk)
    form = ConversationSettingsForm(request.POST, instance=conversation)
    if not form.is_valid():
        return _form_error(request, form, pk)
    services.conversation_update_settings(conversation=conversation, **form.cleaned_data)
    if _wants_json(request):
        return JsonResponse({"id": conversation.pk, "model": conversation.model})
    messages.success(request, _("Settings saved."))
    return redirect("chat:conversation", pk=pk)


@require_http_methods(["GET", "POST"])
def delete_conversation(request, pk):
    conversation = selectors.access_conversation(user=request.user, conversation_id=pk)
    if request.method == "GET":
        return render(request, "chat/confirm_delete.html", {"conversation": conversation})
    services.conversation_delete(conversation=conversation)
    if _wants_json(request):
        return JsonResponse({"deleted": pk})
    messages.success(request, _("Conversation deleted."))
    return redirect("chat:home")


@require_GET
def conversation_list_api(request):
    conversations, next_page = selectors.conversation_list(
        user=request.user, query=request.GET.get("q", ""), page=_page_number(request)
    )
    return JsonResponse(
        {
            "results": [
                {
                    "id": c.pk,
                    "title": c.title,
                    "updated_at": c.updated_at.isoformat(),
                    "url": reverse("chat:conversation", args=[c.pk]),
                }
                for c in conversations
            ],
            "next_page": next_page,
        }
    )


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _form_error(request, form, pk):
    if _wants_json(request):
        return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
    for field_errors in form.errors.values():
        for error in field_errors:
            messages.error(request, error)
    return redirect("chat:conversation", pk=pk)
