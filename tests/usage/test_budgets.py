"""Budgets: what a request may cost before it is made, per user and for the whole site, by
calendar month in the site's time zone."""
from datetime import datetime, timedelta, timezone as dt_timezone
from decimal import Decimal

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import timezone, translation

from glm.tokens import count_prompt_tokens
from tests.factories import make_user
from tests.usage.factories import make_usage_record
from usage.budgets import BudgetExceeded, ensure_within_budget, estimate_chat_cost, estimate_image_cost
from usage.context_processors import budget as budget_context
from usage.models import UserBudget
from usage.periods import budget_month
from usage.selectors import budget_status

pytestmark = pytest.mark.django_db

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "How far is the moon?"}]


@pytest.fixture
def alice():
    return make_user("alice", password=None)


def test_a_chat_estimate_is_the_prompt_plus_the_whole_max_output_at_todays_price():
    prompt_tokens = count_prompt_tokens(MESSAGES)
    estimate = estimate_chat_cost(model="glm-5", messages=MESSAGES, max_tokens=4096)
    expected = (Decimal(prompt_tokens) * 30 + Decimal(4096) * 90) / Decimal(1_000_000)
    assert estimate == expected.quantize(Decimal("0.000001"))
    assert estimate_chat_cost(model="glm-4-flash", messages=MESSAGES, max_tokens=4096) == Decimal("0")


def test_an_image_estimate_is_the_price_per_image():
    assert estimate_image_cost(model="cogview-4") == Decimal("0.050000")
    assert estimate_image_cost(model="cogview-4", images=3) == Decimal("0.150000")


def test_with_no_budget_configured_nothing_is_refused(alice, settings):
    settings.USAGE_DEFAULT_MONTHLY_BUDGET = None
    settings.USAGE_SITE_MONTHLY_CAP = None
    make_usage_record(alice, cost="5000")
    ensure_within_budget(user=alice, estimated_cost=Decimal("1000"))


def test_a_request_the_remaining_budget_cannot_cover_is_refused_saying_what_was_spent_and_when_it_resets(
    alice, settings
):
    settings.TIME_ZONE = "Asia/Shanghai"
    settings.USAGE_DEFAULT_MONTHLY_BUDGET = Decimal("10")
    make_usage_record(alice, cost="9.50")
    ensure_within_budget(user=alice, estimated_cost=Decimal("0.50"))  # exactly what is left
    with pytest.raises(BudgetExceeded) as refused:
        ensure_within_budget(user=alice, estimated_cost=Decimal("0.51"))
    error = refused.value
    assert (error.code, error.scope, error.spent, error.limit) == ("budget", "user", Decimal("9.50"), Decimal("10"))
    reset_day = timezone.localtime(budget_month()[1]).date()
    assert reset_day.day == 1
    with translation.override("en"):
        english = str(error.message)
    assert "¥9.50 of ¥10.00" in english and "¥0.51" in english
    assert reset_day.strftime("%Y") in english and "Asia/Shanghai" in english
    with translation.override("zh-hans"):
        chinese = str(error.message)
    assert "¥9.50" in chinese and f"{reset_day.year}年{reset_day.month}月1日" in chinese
    assert chinese != english


def test_a_free_request_is_never_refused(alice, settings):
    settings.USAGE_DEFAULT_MONTHLY_BUDGET = Decimal("0")
    make_usage_record(alice, cost="3")
    ensure_within_budget(user=alice, estimated_cost=Decimal("0"))
    with pytest.raises(BudgetExceeded):
        ensure_within_budget(user=alice, estimated_cost=Decimal("0.000001"))


def test_a_users_own_budget_replaces_the_default_and_empty_means_unlimited(alice, settings):
    settings.USAGE_DEFAULT_MONTHLY_BUDGET = Decimal("1")
    make_usage_record(alice, cost="2")
    with pytest.raises(BudgetExceeded):
        ensure_within_budget(user=alice, estimated_cost=Decimal("1"))
    own = UserBudget.objects.create(user=alice, monthly_budget=Decimal("50"))
    ensure_within_budget(user=alice, estimated_cost=Decimal("48"))
    with pytest.raises(BudgetExceeded):
        ensure_within_budget(user=alice.pk, estimated_cost=Decimal("48.01"))
    own.monthly_budget = None
    own.save()
    ensure_within_budget(user=alice, estimated_cost=Decimal("100000"))


def test_the_site_cap_counts_everyones_spend(alice, settings):
    settings.USAGE_DEFAULT_MONTHLY_BUDGET = None
    settings.USAGE_SITE_MONTHLY_CAP = Decimal("20")
    bob = make_user("bob", password=None)
    make_usage_record(bob, cost="15")
    make_usage_record(alice, cost="4")
    ensure_within_budget(user=alice, estimated_cost=Decimal("1"))
    with pytest.raises(BudgetExceeded) as refused:
        ensure_within_budget(user=alice, estimated_cost=Decimal("1.01"))
    assert refused.value.scope == "site" and refused.value.spent == Decimal("19")
    with translation.override("en"):
        assert "¥19.00 of ¥20.00" in str(refused.value.message)


def test_spend_before_this_month_does_not_count(alice, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    settings.USAGE_DEFAULT_MONTHLY_BUDGET = Decimal("10")
    month_start, _resets = budget_month()
    make_usage_record(alice, cost="100", at=month_start - timedelta(seconds=1))
    make_usage_record(alice, cost="1", at=month_start)
    assert budget_status(user=alice).spent == Decimal("1")
    ensure_within_budget(user=alice, estimated_cost=Decimal("9"))


def test_the_budget_month_follows_the_sites_time_zone(settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    # 17:30 UTC on 31 October is 01:30 on 1 November in Shanghai: already November's budget.
    start, resets = budget_month(datetime(2026, 10, 31, 17, 30, tzinfo=dt_timezone.utc))
    assert start == datetime(2026, 10, 31, 16, 0, tzinfo=dt_timezone.utc)
    assert resets == datetime(2026, 11, 30, 16, 0, tzinfo=dt_timezone.utc)
    # 15:59 UTC on 31 December is 23:59 in Shanghai: still December, resetting on 1 January.
    start, resets = budget_month(datetime(2026, 12, 31, 15, 59, tzinfo=dt_timezone.utc))
    assert start == datetime(2026, 11, 30, 16, 0, tzinfo=dt_timezone.utc)
    assert resets == datetime(2026, 12, 31, 16, 0, tzinfo=dt_timezone.utc)


def test_the_account_menu_gets_spend_budget_left_and_a_warning_from_80_percent(alice, settings):
    settings.USAGE_DEFAULT_MONTHLY_BUDGET = Decimal("10")
    request = RequestFactory().get("/")
    request.user = alice
    make_usage_record(alice, cost="7.99")
    status = budget_context(request)["usage_budget"]
    assert (status.spent, status.limit, status.left, status.warning) == (
        Decimal("7.99"), Decimal("10"), Decimal("2.01"), False,
    )
    make_usage_record(alice, cost="0.01")
    status = budget_context(request)["usage_budget"]
    assert status.warning and status.used_percent == 80

    with translation.override("zh-hans"):
        html = render_to_string("usage/_account_budget.html", {"usage_budget": status, "user": alice})
    assert "¥8.00" in html and "¥2.00" in html and "80%" in html
    assert 'role="status"' in html


def test_the_account_menu_says_unlimited_and_shows_no_warning_without_a_budget(alice, settings):
    settings.USAGE_DEFAULT_MONTHLY_BUDGET = None
    make_usage_record(alice, cost="123.456")
    request = RequestFactory().get("/")
    request.user = alice
    status = budget_context(request)["usage_budget"]
    assert status.limit is None and not status.warning
    with translation.override("en"):
        html = render_to_string("usage/_account_budget.html", {"usage_budget": status, "user": alice})
    assert "¥123.46" in html and "No monthly limit" in html and 'role="status"' not in html


def test_the_account_menu_data_costs_no_query_on_a_page_that_does_not_show_it(alice, django_assert_num_queries):
    request = RequestFactory().get("/")
    request.user = alice
    with django_assert_num_queries(0):
        budget_context(request)


def test_every_page_shows_the_user_their_spend_and_budget_left_in_the_account_menu(client, alice, settings):
    settings.USAGE_DEFAULT_MONTHLY_BUDGET = Decimal("10")
    client.force_login(alice)
    make_usage_record(alice, cost="2")
    html = client.get("/accounts/password_change/").content.decode()
    menu = html[html.index('class="menu__panel"'):]
    assert "Spent this month" in menu and "¥2.00" in menu and "¥8.00 left of ¥10.00" in menu
    assert "avatar--budget-warning" not in html and "/spend/" not in menu  # not staff

    make_usage_record(alice, cost="6")
    html = client.get("/accounts/password_change/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "avatar--budget-warning" in html and "本月已花费" in html and "每月预算已用 80%" in html
