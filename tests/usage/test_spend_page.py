"""The staff spend page: per-user and per-model spend for a period, daily figures in the
administrator's time zone, each user's calls, CSV of what is shown; staff only."""
import csv
import io
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import make_user
from tests.usage.factories import make_usage_record

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def staff(client):
    user = make_user("boss", is_staff=True, password=None)
    client.force_login(user)
    return user


@pytest.fixture
def shanghai(settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    return SHANGHAI


def _csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


# --- who may see it ------------------------------------------------------------------------------

SPEND_URLS = ["/spend/", "/spend/export.csv", "/spend/users/{pk}/", "/spend/users/{pk}/export.csv"]


@pytest.mark.parametrize("url", SPEND_URLS)
def test_a_logged_in_user_who_is_not_staff_gets_403(client, url):
    alice = make_user("alice", password=None)
    make_usage_record(alice, cost="1")
    client.force_login(alice)
    response = client.get(url.format(pk=alice.pk))
    assert response.status_code == 403
    assert b"alice" not in response.content


@pytest.mark.parametrize("url", SPEND_URLS)
def test_a_visitor_who_is_not_logged_in_is_sent_to_the_login_page(client, url):
    alice = make_user("alice", password=None)
    response = client.get(url.format(pk=alice.pk))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_an_unknown_user_is_404_for_staff(client, staff):
    assert client.get("/spend/users/999999/").status_code == 404
    assert client.get("/spend/users/999999/export.csv").status_code == 404


def test_the_admin_index_links_to_the_spend_page(client):
    client.force_login(make_user("root", is_staff=True, is_superuser=True, password=None))
    response = client.get("/admin/")
    assert response.status_code == 200
    assert 'href="/spend/"' in response.content.decode()


# --- what it shows ---------------------------------------------------------------------------------


def test_users_are_listed_most_expensive_first_with_calls_tokens_images_and_a_total_row(client, staff):
    alice, bob, carol = make_user("alice", password=None), make_user("bob", password=None), make_user("carol", password=None)
    make_usage_record(alice, cost="1.25", prompt_tokens=1000, completion_tokens=200)
    make_usage_record(alice, cost="0.000300", model="glm-4-air", prompt_tokens=200, completion_tokens=100)
    make_usage_record(bob, cost="7.5", prompt_tokens=10, completion_tokens=20)
    make_usage_record(carol, cost="0.05", kind="image", model="cogview-4", prompt_tokens=0, completion_tokens=0, images=1)

    response = client.get("/spend/?period=month")
    assert response.status_code == 200
    overview = response.context["overview"]
    assert [(u.username, u.calls, u.cost) for u in overview.users] == [
        ("bob", 1, Decimal("7.5")), ("alice", 2, Decimal("1.2503")), ("carol", 1, Decimal("0.05")),
    ]
    alice_row = overview.users[1]
    assert (alice_row.prompt_tokens, alice_row.completion_tokens, alice_row.images) == (1200, 300, 0)
    assert (overview.total.calls, overview.total.cost, overview.total.images) == (4, Decimal("8.8003"), 1)
    assert [(m.model, m.calls) for m in overview.models] == [("glm-5", 2), ("cogview-4", 1), ("glm-4-air", 1)]

    html = response.content.decode()
    assert "¥7.50" in html and "¥1.25" in html and "¥8.80" in html and "¥0.0003" in html
    assert html.index(">bob<") < html.index(">alice<") < html.index(">carol<")
    assert f'href="/spend/users/{alice.pk}/?period=month"' in html
    assert 'id="spend-chart-data"' in html and "<script>" not in html.split('id="spend-chart-data"')[0][-200:]


def test_a_username_is_text_never_markup(client, staff):
    make_usage_record(make_user("<img src=x onerror=alert(1)>", password=None), cost="1")
    html = client.get("/spend/").content.decode()
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_periods_are_whole_days_in_the_administrators_time_zone(client, staff, shanghai):
    alice = make_user("alice", password=None)
    now = timezone.localtime(timezone.now(), shanghai)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    make_usage_record(alice, cost="1", at=midnight)  # first instant of today, Shanghai time
    make_usage_record(alice, cost="2", at=midnight - timedelta(seconds=1))  # yesterday
    make_usage_record(alice, cost="4", at=midnight - timedelta(days=6))  # 7 days ago, counting today
    make_usage_record(alice, cost="8", at=midnight - timedelta(days=6, seconds=1))
    make_usage_record(alice, cost="16", at=midnight - timedelta(days=29))
    make_usage_record(alice, cost="32", at=midnight - timedelta(days=29, seconds=1))

    def total(query):
        return client.get(f"/spend/?{query}").context["overview"].total.cost

    assert total("period=today") == Decimal("1")
    assert total("period=7d") == Decimal("7")
    assert total("period=30d") == Decimal("31")
    yesterday = (midnight - timedelta(days=1)).date()
    assert total(f"period=range&start={yesterday}&end={yesterday}") == Decimal("2")
    month_start = midnight.replace(day=1)
    expected_month = sum(
        Decimal(c) for c, at in [("1", midnight), ("2", midnight - timedelta(seconds=1)),
                                 ("4", midnight - timedelta(days=6)), ("8", midnight - timedelta(days=6, seconds=1)),
                                 ("16", midnight - timedelta(days=29)), ("32", midnight - timedelta(days=29, seconds=1))]
        if at >= month_start
    )
    assert total("period=month") == expected_month


def test_the_daily_chart_has_every_day_of_the_period_in_local_days(client, staff, shanghai):
    alice = make_user("alice", password=None)
    # 23:30 UTC on 2 March is 07:30 on 3 March in Shanghai.
    make_usage_record(alice, cost="1.5", at=datetime(2026, 3, 2, 23, 30, tzinfo=ZoneInfo("UTC")))
    make_usage_record(alice, cost="0.5", at=datetime(2026, 3, 3, 10, 0, tzinfo=SHANGHAI))
    response = client.get("/spend/?period=range&start=2026-03-01&end=2026-03-05")
    chart = response.context["chart"]
    assert chart["days"] == ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05"]
    assert chart["costs"] == ["0.000000", "0.000000", "2.000000", "0.000000", "0.000000"]
    assert chart["calls"] == [0, 0, 2, 0, 0]
    assert "Asia/Shanghai" in response.content.decode()


@pytest.mark.parametrize(
    "query, message",
    [
        ("period=range&start=2026-03-05&end=2026-03-01", "must not be after"),
        ("period=range&start=2026-03-05", "first and the last day"),
        ("period=range&start=2024-01-01&end=2026-01-01", "at most 366 days"),
    ],
)
def test_a_bad_range_is_explained_and_this_month_is_shown(client, staff, query, message):
    response = client.get(f"/spend/?{query}")
    assert response.status_code == 200
    assert message in response.content.decode()
    assert response.context["period"].key == "month"


def test_the_page_speaks_chinese_to_a_chinese_administrator(client, staff):
    make_usage_record(make_user("alice", password=None), cost="3")
    html = client.get("/spend/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "每位用户的支出" in html and "合计" in html and "¥3.00" in html


def test_the_query_count_does_not_grow_with_users_or_rows(client, staff):
    def queries_for(users: int) -> int:
        for n in range(users):
            person = make_user(password=None)
            for model in ("glm-5", "glm-4-air"):
                make_usage_record(person, cost=f"0.{n + 1:02d}", model=model)
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/spend/?period=30d").status_code == 200
        return len(captured)

    few = queries_for(3)
    many = queries_for(27)  # 30 users in all
    assert few == many, f"{few} queries for 3 users, {many} for 30"


# --- CSV ---------------------------------------------------------------------------------------------


def test_the_csv_holds_the_users_table_and_the_total_in_full_precision(client, staff):
    alice, bob = make_user("alice", password=None), make_user("=bob", password=None)
    make_usage_record(alice, cost="0.000123", prompt_tokens=7, completion_tokens=8)
    make_usage_record(bob, cost="2.5", images=2, prompt_tokens=0, completion_tokens=0)
    response = client.get("/spend/export.csv?period=7d")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="spend-')
    rows = _csv_rows(response)
    assert rows[0] == ["User", "Calls", "Input tokens", "Output tokens", "Images", "Cost (yuan)"]
    # A name a spreadsheet would run as a formula is kept as text.
    assert rows[1] == ["'=bob", "1", "0", "0", "2", "2.500000"]
    assert rows[2] == ["alice", "1", "7", "8", "0", "0.000123"]
    assert rows[3] == ["Total", "2", "7", "8", "2", "2.500123"]


def test_a_users_calls_are_paginated_newest_first_and_exported(client, staff, settings):
    settings.USAGE_SPEND_CALLS_PER_PAGE = 2
    alice, bob = make_user("alice", password=None), make_user("bob", password=None)
    now = timezone.now()
    for minutes, cost in [(30, "0.1"), (20, "0.2"), (10, "0.3")]:
        make_usage_record(alice, cost=cost, at=now - timedelta(minutes=minutes), exact=cost != "0.2")
    make_usage_record(bob, cost="9")

    first = client.get(f"/spend/users/{alice.pk}/?period=today")
    assert [c.cost for c in first.context["calls"]] == [Decimal("0.3"), Decimal("0.2")]
    assert first.context["totals"].cost == Decimal("0.6")
    html = first.content.decode()
    assert "estimated" in html and "¥9.00" not in html
    assert 'href="?period=today&amp;page=2"' in html
    second = client.get(f"/spend/users/{alice.pk}/?period=today&page=2")
    assert [c.cost for c in second.context["calls"]] == [Decimal("0.1")]

    rows = _csv_rows(client.get(f"/spend/users/{alice.pk}/export.csv?period=today"))
    assert rows[0][:3] == ["Time", "Kind", "Model"]
    assert [r[11] for r in rows[1:]] == ["0.300000", "0.200000", "0.100000"]
    assert [r[12] for r in rows[1:]] == ["no", "yes", "no"]


def test_a_users_page_costs_the_same_queries_for_few_and_many_calls(client, staff):
    alice = make_user("alice", password=None)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"/spend/users/{alice.pk}/?period=month").status_code == 200
        return len(captured)

    make_usage_record(alice, cost="1")
    few = queries()
    for _ in range(80):
        make_usage_record(alice, cost="1")
    assert queries() == few


def test_the_model_and_day_tables_have_their_own_csv(client, staff, shanghai):
    alice = make_user("alice", password=None)
    make_usage_record(alice, cost="1", model="glm-5", at=datetime(2026, 3, 2, 12, 0, tzinfo=SHANGHAI))
    make_usage_record(alice, cost="0.25", model="glm-4-air", at=datetime(2026, 3, 3, 12, 0, tzinfo=SHANGHAI))
    query = "period=range&start=2026-03-02&end=2026-03-03"
    models = client.get(f"/spend/export.csv?{query}&table=models")
    assert models["Content-Disposition"] == 'attachment; filename="spend-models-2026-03-02-to-2026-03-03.csv"'
    assert _csv_rows(models) == [
        ["Model", "Calls", "Input tokens", "Output tokens", "Images", "Cost (yuan)"],
        ["glm-5", "1", "100", "50", "0", "1.000000"],
        ["glm-4-air", "1", "100", "50", "0", "0.250000"],
        ["Total", "2", "200", "100", "0", "1.250000"],
    ]
    assert _csv_rows(client.get(f"/spend/export.csv?{query}&table=days")) == [
        ["Day", "Calls", "Cost (yuan)"], ["2026-03-02", "1", "1.000000"], ["2026-03-03", "1", "0.250000"],
    ]
