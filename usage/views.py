"""The staff spend pages: who spent what, by model and by day, and each user's calls.

Staff only: anyone else gets 403 (or the login page when logged out). There is no other
route to the ledger.
"""
from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from . import exports, periods, selectors
from .forms import PeriodForm


def staff_required(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not (request.user.is_active and request.user.is_staff):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def _period(request) -> tuple[PeriodForm, periods.Period, str]:
    """The form, the period it names, and that period as a query string for links."""
    form = PeriodForm(request.GET or None)
    period = form.chosen_period()
    params = {"period": period.key}
    if period.key == periods.DATE_RANGE:
        params.update(start=period.first_day.isoformat(), end=period.last_day.isoformat())
    return form, period, urlencode(params)


def _csv_response(lines, name: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_GET
@staff_required
def spend_overview(request):
    form, period, period_query = _period(request)
    overview = selectors.spend_overview(period=period)
    users_page = Paginator(overview.users, settings.USAGE_SPEND_USERS_PER_PAGE).get_page(request.GET.get("page"))
    chart = {
        "days": [day.day.isoformat() for day in overview.daily],
        "costs": [str(day.cost) for day in overview.daily],
        "calls": [day.calls for day in overview.daily],
    }
    return render(
        request,
        "usage/spend.html",
        {"form": form, "period": period, "period_query": period_query, "overview": overview,
         "users_page": users_page, "chart": chart},
    )


@require_GET
@staff_required
def spend_overview_csv(request):
    _form, period, _query = _period(request)
    table = request.GET.get("table", "users")
    if table not in exports.TABLES:
        table = "users"
    overview = selectors.spend_overview(period=period)
    prefix = "spend" if table == "users" else f"spend-{table}"
    return _csv_response(exports.overview_lines(overview, table), exports.filename(prefix, period))


@require_GET
@staff_required
def user_spend(request, user_id):
    person = selectors.access_spend_user(viewer=request.user, user_id=user_id)
    form, period, period_query = _period(request)
    calls = Paginator(
        selectors.user_calls(user=person, period=period), settings.USAGE_SPEND_CALLS_PER_PAGE
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "usage/user_spend.html",
        {"person": person, "form": form, "period": period, "period_query": period_query,
         "totals": selectors.user_spend(user=person, period=period), "calls": calls},
    )


@require_GET
@staff_required
def user_spend_csv(request, user_id):
    person = selectors.access_spend_user(viewer=request.user, user_id=user_id)
    _form, period, _query = _period(request)
    records = selectors.user_calls(user=person, period=period).iterator(chunk_size=2000)
    return _csv_response(exports.calls_lines(records), exports.filename(f"spend-{person.pk}", period))
