"""The site's own endpoints (not a feature's): the health check."""
from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .health import run_checks


@login_not_required
@never_cache
@require_safe
async def healthz(request):
    """200 when every check passes, 503 otherwise; the body says which (glmweb/health.py)."""
    report = await run_checks()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
