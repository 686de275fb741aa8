"""In Chromium: a manager tags every result of a search and sees the dashboard's counts change;
the dashboard and the deals list at 390 and 1280 px: no sideways page, readable chart text,
tables scrolled by keyboard, no serious or critical axe-core violation."""

from __future__ import annotations

import datetime
import re

import pytest

from browser.conftest import DESKTOP, PHONE, check_page, screenshot, sign_in
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


def rising_text(page) -> str:
    return page.locator("section[aria-labelledby=rising-h]").inner_text()


def test_a_manager_tags_a_search_and_the_dashboard_counts_change(live_server, new_page, tmp_path):
    url = live_server.url
    seed(live_server.app)
    page = new_page(DESKTOP)
    sign_in(page, url, "boss@example.test")

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


def seed_deals(app) -> None:
    """Deals of two reps with values, long competitor names, invitations and answers."""
    today = datetime.date.today().isoformat()
    with app.app_context():
        store = get_store()
        reps = [u["id"] for u in store.table("users").all() if u["role"] == "rep"]
        for i in range(14):
            deal = store.table("deals").insert(
                {"company": f"Northwind Trading Company {i}", "rep_id": reps[i % 2],
                 "contact_email": f"buyer{i}@example.test", "contact_name": "Nora Lind",
                 "value": None if i % 4 == 0 else 1250.5 * (i + 1), "lost_on": today,
                 "competitor": ["Rivalry CRM Enterprise Edition", "株式会社ライバル", None][i % 3],
                 "rep_reason": "price", "rep_reasons": []}
            )  # fmt: skip
            if i % 3:
                store.table("invitations").insert(
                    {"deal_id": deal, "status": "answered" if i % 2 else "sent",
                     "sent_at": today + "T09:00:00", "email": f"buyer{i}@example.test"}
                )  # fmt: skip
            if i % 3 and i % 2:
                store.table("answers").insert(
                    {"deal_id": deal, "reason": ["trust", "overpromising"][i % 4 // 2],
                     "competitor": None}
                )  # fmt: skip
        for i, (buyer, rep) in enumerate(
            [("trust", "price"), ("price", "price"), ("speed", "trust")]
        ):
            kb.publish(entries.Entry(kind="debrief", title=f"Debrief {i}", rep="rep@example.test",
                                     date=datetime.date.today(), prospect_reasons=[buyer],
                                     rep_reasons=[rep], competitor="Rivalry CRM",
                                     themes=["rollout-pain"], body="Why."))  # fmt: skip


def chart_font_sizes(page) -> list[float]:
    """The size each chart text is drawn at, in CSS pixels (its font size times the SVG's scale)."""
    return page.evaluate(
        """() => [...document.querySelectorAll('svg.chart text')]
            .filter(t => t.getBoundingClientRect().width > 0)
            .map(t => parseFloat(t.getAttribute('font-size'))
                      * t.ownerSVGElement.getScreenCTM().a)"""
    )


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1280px"])
def test_the_dashboard_reflows_and_passes_axe(
    live_server, new_page, axe_source, tmp_path, viewport
):
    seed(live_server.app)
    seed_deals(live_server.app)
    page = new_page(viewport)
    sign_in(page, live_server.url, "boss@example.test")
    page.goto(f"{live_server.url}/dashboard")
    for summary in page.locator("details > summary").all():
        summary.click()  # every folded table open: axe and the width check see them all
    sizes = chart_font_sizes(page)
    assert len(sizes) > 30 and min(sizes) >= 11.5, sorted(sizes)[:5]
    charts = page.locator("svg.chart").evaluate_all(
        "svgs => svgs.map(s => s.getBoundingClientRect().right)"
    )
    assert max(charts) <= viewport["width"]
    regions = page.locator('main .table-wrap[role=region][tabindex="0"]')
    assert regions.count() == page.locator("main table").count() >= 9
    regions.first.focus()
    assert page.evaluate("() => document.activeElement.getAttribute('role')") == "region"
    headline = page.locator("dl.headline").inner_text()
    assert "Deals lost" in headline and "Value lost" in headline
    assert re.search(r"\b[A-Z][a-z]{2} \d{4}\b", page.locator("main").inner_text())
    current = page.locator("nav[aria-label=Main] [aria-current=page]")
    assert current.all_inner_texts() == ["Dashboard"]
    check_page(page, axe_source, tmp_path, f"dashboard-{viewport['width']}")


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1280px"])
def test_the_deals_list_fits_and_passes_axe(live_server, new_page, axe_source, tmp_path, viewport):
    seed_deals(live_server.app)
    page = new_page(viewport)
    sign_in(page, live_server.url, "boss@example.test")
    page.goto(f"{live_server.url}/deals")
    page.get_by_label("Sort by").select_option(label="Value, highest first")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"sort=value"))  # the new list loaded, not only its address
    values = page.locator("table.deals td[data-label=Value]").all_inner_texts()
    assert values[0] == "17,507" and values[-1] == "—"
    page.get_by_label("Rep", exact=True).select_option(label="Otto Other")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"[?&]rep=[^&]"))
    reps = set(page.locator("table.deals td[data-label=Rep]").all_inner_texts())
    assert reps == {"Otto Other"}
    current = page.locator("nav[aria-label=Main] [aria-current=page]")
    assert current.all_inner_texts() == ["Deals"]
    check_page(page, axe_source, tmp_path, f"deals-{viewport['width']}")
    page.goto(f"{live_server.url}/deals?sort=price")
    assert "Sort by: Not a valid choice" in page.locator(".error-summary").inner_text()
    check_page(page, axe_source, tmp_path, f"deals-refused-{viewport['width']}")
