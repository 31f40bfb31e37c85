"""In the browser: a staff member goes from the admin to the spend page, changes the period,
sees the daily chart and downloads the CSV of what the page shows."""
import csv
import io
import re
from datetime import datetime, time, timedelta, timezone as dt_timezone
from pathlib import Path

import pytest
from playwright.sync_api import expect

# The live Daphne server, its emulator and the browser come from the browser tests' fixtures.
from tests.browser.conftest import PASSWORD, chrome, daphne_server, live_site  # noqa: F401
from tests.images.fixtures import image_worker_harness  # noqa: F401  (the live server shares its broker)
from tests.factories import make_user
from tests.usage.factories import make_usage_record

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _noon(days_ago: int) -> datetime:
    day = datetime.now(dt_timezone.utc).date() - timedelta(days=days_ago)
    return datetime.combine(day, time(12), tzinfo=dt_timezone.utc)


def test_staff_changes_the_period_sees_the_daily_chart_and_downloads_the_csv(chrome):
    # The live server runs on UTC, like this process: days are UTC days here.
    make_user("boss", password=PASSWORD, is_staff=True, is_superuser=True)
    make_usage_record(make_user("alice", password=None), cost="2.5", at=_noon(1))
    make_usage_record(make_user("bob", password=None), cost="7", at=_noon(20))
    start, end = _noon(2).date(), _noon(0).date()

    page = chrome.page(username="boss")
    page.goto("/admin/")
    page.get_by_role("link", name="Spend per user").click()
    expect(page).to_have_url(re.compile(r"/spend/$"))
    expect(page.get_by_role("heading", name="Spend per user")).to_be_visible()

    # Once the page's script runs, a preset applies as soon as it is chosen.
    expect(page.locator("#spend-period")).to_have_attribute("data-ready", "true")
    page.get_by_label("Period").select_option("30d")
    expect(page).to_have_url(re.compile(r"period=30d"))
    expect(page.locator("#spend-period")).to_have_attribute("data-ready", "true")
    users = page.locator("#spend-users tbody th")
    expect(users).to_have_text(["bob", "alice"])
    expect(page.locator("#spend-users tfoot")).to_contain_text("¥9.50")

    # A range waits for its two days.
    expect(page.locator("#spend-start")).to_be_hidden()
    page.get_by_label("Period").select_option("range")
    page.locator("#spend-start").fill(start.isoformat())
    page.locator("#spend-end").fill(end.isoformat())
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(rf"period=range&start={start}&end={end}"))
    expect(users).to_have_text(["alice"])
    expect(page.locator("[data-total-cost]")).to_have_text("¥2.50")

    chart = page.wait_for_function(
        """() => {
            const chart = globalThis.Chart && Chart.getChart(document.getElementById("spend-chart"));
            return chart && chart.width > 0 && {labels: chart.data.labels.length, values: chart.data.datasets[0].data};
        }"""
    ).json_value()
    assert chart == {"labels": 3, "values": [0, 2.5, 0]}
    chrome.screenshot(page, "spend-range")

    with page.expect_download() as download_info:
        page.locator("#spend-csv").click()
    download = download_info.value
    assert download.suggested_filename == f"spend-{start}-to-{end}.csv"
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [
        ["User", "Calls", "Input tokens", "Output tokens", "Images", "Cost (yuan)"],
        ["alice", "1", "100", "50", "0", "2.500000"],
        ["Total", "1", "100", "50", "0", "2.500000"],
    ]
    assert chrome.page_errors == []
