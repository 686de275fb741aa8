"""In Chromium: a manager tags every result of a search and sees the dashboard's counts change."""

from __future__ import annotations

import datetime
import re

import pytest
from conftest import PASSWORD

from browser.conftest import DESKTOP, PHONE, page_width, screenshot
from debrief import entries
from debrief.kb import service as kb
from debrief.store import get_store
from debrief.themes import service

pytestmark = pytest.mark.browser
MATCHING = 23  # more than one page of 20 results: the tag must reach every page


def seed(app) -> None:
    """A theme, entries that mention the rollout (and some that do not), all from this month."""
    today = datetime.date.today()
    with app.app_context():
        service.create_theme(get_store(), "Rollout pain", "The rollout took too long.")
        for i in range(MATCHING):
            kb.publish(entries.Entry(kind="lesson", title=f"Lesson {i}", date=today,
                                     body=f"The rollout slipped by {i + 2} weeks."))  # fmt: skip
        for i in range(4):
            kb.publish(entries.Entry(kind="lesson", title=f"Price {i}", date=today,
                                     body="They said the price was too high."))  # fmt: skip


def sign_in(page, url: str) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("Email").fill("boss@example.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    page.wait_for_load_state()
    assert "/login" not in page.url


def rising_text(page) -> str:
    return page.locator("section[aria-labelledby=rising-h]").inner_text()


def test_a_manager_tags_a_search_and_the_dashboard_counts_change(live_server, new_page, tmp_path):
    url = live_server.url
    seed(live_server.app)
    page = new_page(DESKTOP)
    sign_in(page, url)

    page.goto(f"{url}/dashboard")
    assert "Rollout pain" not in rising_text(page)
    assert page.locator("svg.chart[role=img]").count() >= 3  # drawn on the server, no script
    assert page.locator("script").count() == 0

    page.get_by_role("link", name="Themes", exact=True).click()
    page.get_by_role("link", name="Tag search results").click()
    page.get_by_label("Search").fill("rollout")
    page.get_by_role("button", name="Search").click()
    assert page.locator("#result-count").inner_text() == f"{MATCHING} entries match."
    page.get_by_label("Tag every result with").select_option(label="Rollout pain")
    page.get_by_role("button", name=f"Tag all {MATCHING} results").click()
    expect_flash = f"Tagged {MATCHING} of {MATCHING} results"
    assert expect_flash in page.locator(".flash").inner_text()

    page.get_by_role("link", name="Dashboard").click()
    rising = rising_text(page)
    assert re.search(rf"Rising\s+Rollout pain: {MATCHING} in the last 90 days, 0 in the 90 before",
                     rising), rising  # fmt: skip
    page.get_by_text("Show as a table").first.click()
    row = page.locator("table.compact-table tr", has_text="Rollout pain")
    assert row.locator("td").last.inner_text() == str(MATCHING)  # this month's column
    screenshot(page, tmp_path, "dashboard-after-tagging")

    page.get_by_role("link", name="Rollout pain").first.click()
    assert f"{MATCHING} entries" in page.locator("main").inner_text()


def test_the_dashboard_fits_a_phone(live_server, new_page):
    seed(live_server.app)
    page = new_page(PHONE)
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/dashboard")
    assert page_width(page) <= PHONE["width"]
