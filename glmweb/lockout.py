"""What a person sees when django-axes has locked their log-ins (too many wrong passwords).

Used for the site's login and the admin's alike. The answer is 429 with Retry-After, and says
how long to wait; it does not say whether the account exists.
"""
from __future__ import annotations

import math

from axes.helpers import get_cool_off
from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def locked_out(request, original_response=None, credentials=None):
    cool_off = get_cool_off(request)
    seconds = math.ceil(cool_off.total_seconds()) if cool_off else None
    minutes = math.ceil(seconds / 60) if seconds else None
    status = settings.AXES_HTTP_RESPONSE_CODE
    if "application/json" in request.headers.get("Accept", ""):
        response = JsonResponse(
            {"error": "locked_out", "message": _("Too many failed log-in attempts."), "retry_after": seconds},
            status=status,
        )
    else:
        response = render(request, "glmweb/locked_out.html", {"minutes": minutes}, status=status)
    if seconds:
        response["Retry-After"] = str(seconds)
    return response
