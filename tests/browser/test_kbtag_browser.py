"""A manager in Chromium tags where entries are read: a /kb result, an entry page, and all the
results of a search at once; a rep sees the same themes as links, no controls; names, not slugs."""

from __future__ import annotations

import datetime
import re

import pytest

from browser.conftest import DESKTOP, PHONE, check_page, sign_in
from debrief import entries
from debrief.kb import service
from debrief.store import get_store
from debrief.themes import service as themes

pytestmark = pytest.mark.browser
ACCENT = "rgb(31, 95, 174)"  # --accent: links


def seed(app) -> dict[str, str]:
    """Two themes, a deal lost to "Rivalry CRM", and four entries about onboarding."""
    with app.app_context():
        store = get_store()
        for name in ("Price pressure", "Onboarding"):
            themes.create_theme(store, name)
        rep = store.table("users").find_one("email", "rep@example.test")
        deal = store.table("deals").insert(
            {"company": "Northwind", "rep_id": rep["id"], "competitor": "Rivalry CRM"}
        )
        slugs = {}
        for n, (title, kind) in enumerate(
            [
                ("Onboarding took too long", "debrief"),
                ("Rivalry had a named engineer", "debrief"),
                ("Their onboarding plan was clearer", "debrief"),
                ("Show the onboarding plan first", "lesson"),
            ]
        ):
            written = service.publish(
                entries.Entry(
                    kind=kind,
                    title=title,
                    date=datetime.date(2024, 5, 1 + n),
                    rep="rep@example.test",
                    deal=deal,
                    competitor="Rivalry CRM",
                    prospect_reasons=["speed"] if kind == "debrief" else [],
                    body=(
                        "## In the buyer's words\n\n"
                        + entries.buyer_block("The onboarding plan slipped twice.")
                    )
                    if kind == "debrief"
                    else "Walk through the onboarding plan before the price.",
                )
            )
            slugs[title] = written.slug
        return slugs


def file_themes(app, slug: str) -> list[str]:
    """The Themes header as written in the entry's file."""
    with app.app_context():
        return entries.read_entry(entries.find_entry(service.entries_dir(), slug)).themes


def visible(page) -> str:
    """The page's text as read."""
    return page.locator("body").inner_text()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390", "1280"])
def test_a_manager_tags_from_results_entry_pages_and_a_whole_search(
    live_server, new_page, axe_source, tmp_path, viewport
):
    url, app, width = live_server.url, live_server.app, viewport["width"]
    slugs = seed(app)
    page = new_page(viewport)
    sign_in(page, url, "boss@example.test", "/kb?q=onboarding")
    hits = page.locator("ol.hits > li")
    assert hits.count() == 4
    text = visible(page)
    assert "Rivalry CRM" in text and "rivalry-crm" not in text
    assert "In the buyer's words — The onboarding plan" in text  # the heading kept apart
    check_page(page, axe_source, tmp_path, f"kb-results-{width}")

    # Tag one result: it comes back to the same search, at that result.
    first = hits.first
    title = first.locator("h3").inner_text()
    first.get_by_label(f"Theme to add to “{title}”").select_option(label="Price pressure")
    first.get_by_role("button", name=re.compile("^Tag")).click()
    page.wait_for_url(re.compile(r"/kb\?q=onboarding#hit-1$"))
    tag = page.locator("#hit-1").get_by_role("link", name="Price pressure")
    assert tag.get_attribute("href") == "/kb?theme=price-pressure"
    # A tag reads as a link: the link colour, underlined.
    style = tag.evaluate("e => [getComputedStyle(e).color, getComputedStyle(e).textDecorationLine]")
    assert style == [ACCENT, "underline"]
    assert file_themes(app, slugs[title]) == ["price-pressure"]
    check_page(page, axe_source, tmp_path, f"kb-result-tagged-{width}")

    # Untag it again from the result.
    page.locator("#hit-1").get_by_role(
        "button", name=f"Remove the theme Price pressure from “{title}”"
    ).click()
    page.wait_for_url(re.compile(r"#hit-1$"))
    assert page.locator("#hit-1 a.tag").count() == 0
    assert file_themes(app, slugs[title]) == []

    # Tag on the entry page: its file follows, and the page shows the theme by name.
    page.locator("#hit-1 h3 a").click()
    page.wait_for_url(re.compile(r"/kb/" + re.escape(slugs[title]) + "$"))
    page.get_by_label(f"Theme to add to “{title}”").select_option(label="Onboarding")
    page.get_by_role("button", name=re.compile("^Tag")).click()
    page.wait_for_url(re.compile(r"/kb/" + re.escape(slugs[title]) + "$"))
    facts = page.locator("dl.facts")
    assert (
        facts.get_by_role("link", name="Onboarding").get_attribute("href") == "/kb?theme=onboarding"
    )
    assert "Rivalry CRM" in facts.inner_text() and "rivalry-crm" not in facts.inner_text()
    # The deal's number is a link to the deal for a manager.
    assert facts.get_by_role("link", name=re.compile(r"^#\d+$")).get_attribute("href") == "/deals/1"
    assert file_themes(app, slugs[title]) == ["onboarding"]
    check_page(page, axe_source, tmp_path, f"kb-entry-tagged-{width}")

    # Tag all the results of the search at once (every page), back on the same search.
    page.goto(f"{url}/kb?q=onboarding&kind=debrief")
    page.get_by_text("Tag all 3 results with a theme").click()
    page.locator(".tag-all").get_by_label("Theme").select_option(label="Price pressure")
    page.get_by_role("button", name="Tag all 3 results").click()
    page.wait_for_url(re.compile(r"/kb\?q=onboarding&kind=debrief$"))
    assert "Tagged 3 of 3 results." in visible(page)
    assert page.locator("ol.hits a.tag", has_text="Price pressure").count() == 3
    debriefs = [s for t, s in slugs.items() if t != "Show the onboarding plan first"]
    assert all("price-pressure" in file_themes(app, s) for s in debriefs)
    assert "price-pressure" not in file_themes(app, slugs["Show the onboarding plan first"])
    check_page(page, axe_source, tmp_path, f"kb-tagged-all-{width}")


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390", "1280"])
def test_a_rep_sees_themes_as_links_and_no_controls(
    live_server, new_page, axe_source, tmp_path, viewport
):
    url, app, width = live_server.url, live_server.app, viewport["width"]
    slugs = seed(app)
    with app.app_context():
        themes.tag_entry(get_store(), slugs["Onboarding took too long"], "onboarding")
    page = new_page(viewport)
    sign_in(page, url, "other@example.test", "/kb?q=onboarding")
    assert page.locator("ol.hits a.tag", has_text="Onboarding").count() == 1
    assert page.locator("main form[method=post]").count() == 0
    assert page.get_by_text("Tag all").count() == 0
    check_page(page, axe_source, tmp_path, f"kb-results-rep-{width}")
    page.goto(f"{url}/kb/{slugs['Onboarding took too long']}")
    assert page.locator("dl.facts").get_by_role("link", name="Onboarding").count() == 1
    assert page.locator("main form[method=post]").count() == 0
    assert page.get_by_role("link", name=re.compile(r"^#\d+$")).count() == 0  # not their deal
    check_page(page, axe_source, tmp_path, f"kb-entry-rep-{width}")
