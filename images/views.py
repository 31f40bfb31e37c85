"""Gallery pages, the job status endpoint and the picture files. Each view parses input,
reaches a job only through selectors.access_image_job (404 for anyone but its owner) and calls
one service."""
from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import selectors, services
from .forms import ImageJobForm
from .models import ImageJob
from .payloads import job_payload
from .services import ImageRefused
from .ui import gallery_strings

_REUSABLE_FIELDS = ("prompt", "model", "size", "quality")


@require_GET
def gallery(request):
    user = request.user
    page = selectors.gallery_page(user=user, page_number=request.GET.get("page"))
    pending = selectors.pending_jobs(user=user)
    positions = selectors.queue_positions(user_id=user.pk)
    payloads = [job_payload(job, language=request.LANGUAGE_CODE, position=positions.get(job.pk)) for job in pending]
    # "Use this prompt again" links here with the old job's fields in the query string.
    initial = {name: request.GET[name] for name in _REUSABLE_FIELDS if request.GET.get(name)}
    return render(
        request,
        "images/gallery.html",
        {
            "form": ImageJobForm(initial=initial),
            "page": page,
            "pending": list(zip(pending, payloads)),
            "pending_payloads": payloads,
            "gallery_config": {
                "ws_path": "/ws/images/",
                "create_url": reverse("images:create"),
                "page": page.number,
                # The in-memory channel layer cannot carry a worker's events to this process's
                # sockets; the page then relies on polling.
                "push_reliable": "InMemoryChannelLayer" not in settings.CHANNEL_LAYERS["default"]["BACKEND"],
                "quality_models": ["cogview-4-250304"],
            },
            "gallery_strings": gallery_strings(),
        },
    )


@require_POST
def create_job(request):
    form = ImageJobForm(request.POST)
    if not form.is_valid():
        first_error = next(iter(form.errors.values()))[0]
        return _refusal(
            request, code="invalid", message=first_error, status=400, errors=form.errors.get_json_data(),
            prefill=request.POST,
        )
    try:
        job = services.image_job_create(user=request.user, **form.cleaned_data)
    except ImageRefused as refused:
        status = 429 if refused.code == "too_many_jobs" else 400
        return _refusal(request, code=refused.code, message=str(refused.message), status=status, prefill=request.POST)
    if _wants_json(request):
        return JsonResponse(
            {"job": job_payload(job, language=request.LANGUAGE_CODE, position=job.queue_position)}, status=201
        )
    messages.success(request, _("Your picture is queued."))
    return redirect("images:gallery")


@require_GET
def detail(request, pk):
    job = selectors.access_image_job(user=request.user, job_id=pk)
    payload = job_payload(job, language=request.LANGUAGE_CODE)
    return render(
        request,
        "images/detail.html",
        {
            "job": job,
            "cost": None if job.cost is None else format(job.cost.normalize(), "f"),
            "error_message": (payload["error"] or {}).get("message"),
            "reuse_url": _gallery_url_with({name: getattr(job, name) for name in _REUSABLE_FIELDS}),
        },
    )


@require_GET
def status(request, pk):
    job = selectors.access_image_job(user=request.user, job_id=pk)
    position = selectors.queue_positions(user_id=request.user.pk).get(job.pk)
    return JsonResponse({"job": job_payload(job, language=request.LANGUAGE_CODE, position=position)})


@require_GET
def image_file(request, pk):
    job = selectors.access_image_job(user=request.user, job_id=pk)
    download = request.GET.get("download") == "1"
    return _file_response(job, job.image, content_type=job.content_type, download=download)


@require_GET
def thumbnail_file(request, pk):
    job = selectors.access_image_job(user=request.user, job_id=pk)
    return _file_response(job, job.thumbnail, content_type="image/jpeg", download=False)


@require_http_methods(["GET", "POST"])
def delete_job(request, pk):
    job = selectors.access_image_job(user=request.user, job_id=pk)
    if request.method == "GET":
        return render(request, "images/confirm_delete.html", {"job": job})
    try:
        services.image_job_delete(job=job)
    except ImageRefused as refused:
        return _refusal(request, code=refused.code, message=str(refused.message), status=409, back=job)
    if _wants_json(request):
        return JsonResponse({"deleted": pk})
    messages.success(request, _("Picture deleted."))
    return redirect("images:gallery")


def _file_response(job: ImageJob, field, *, content_type: str, download: bool):
    if job.status != ImageJob.Status.SUCCEEDED or not field.name:
        raise Http404("No such image.")
    try:
        handle = field.open("rb")
    except FileNotFoundError:
        raise Http404("No such image.") from None
    extension = "jpg" if content_type == "image/jpeg" else "png"
    response = FileResponse(
        handle, content_type=content_type, as_attachment=download, filename=f"glm-image-{job.pk}.{extension}"
    )
    # The bytes were checked by Pillow, but the browser must never guess another type for them.
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=86400"
    return response


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _gallery_url_with(fields) -> str:
    """The gallery with its form filled in from fields (a job's, or a refused submission's)."""
    query = urlencode({name: fields[name] for name in _REUSABLE_FIELDS if fields.get(name)})
    return reverse("images:gallery") + (f"?{query}" if query else "")


def _refusal(request, *, code, message, status, errors=None, back: ImageJob | None = None, prefill=None):
    if _wants_json(request):
        body = {"code": code, "message": message}
        if errors:
            body["errors"] = errors
        return JsonResponse(body, status=status)
    messages.error(request, message)
    if back is not None:
        return redirect("images:detail", pk=back.pk)
    return redirect(_gallery_url_with(prefill or {}))
