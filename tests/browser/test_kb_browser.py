"""A rep in Chromium: searches, narrows by a facet, opens an entry, writes a lesson with preview."""

from __future__ import annotations

import datetime
import re

import pytest

from browser.conftest import DESKTOP, PHONE, check_page, screenshot, sign_in
from debrief import entries
from debrief.kb import service

pytestmark = pytest.mark.browser


def seed(app) -> None:
    """Two debriefs lost to different competitors and a standing lesson."""
    with app.app_context():
        for title, competitor, reason, words, day in [
            ("Northwind went with Acme", "Acme", "price", "Acme was cheaper per seat.", 3),
            ("Globex chose Initech", "Initech", "support", "Initech answered the phone.", 4),
        ]:
            service.publish(
                entries.Entry(
                    kind="debrief",
                    title=title,
                    date=datetime.date(2024, 5, day),
                    rep="rep@example.test",
                    competitor=competitor,
                    prospect_reasons=[reason],
                    body="The buyer said:\n\n" + entries.buyer_block(words + " <b>honest</b>"),
                )
            )
        service.publish(
            entries.Entry(
                kind="lesson",
                title="Price per seat, said early",
                date=datetime.date(2024, 5, 5),
                rep="other@example.test",
                body="Say the **price per seat** in the first call.",
            )
        )


def test_a_rep_finds_an_entry_and_writes_a_lesson(live_server, new_page, axe_source, tmp_path):
    url, app = live_server.url, live_server.app
    seed(app)
    page = new_page(DESKTOP)
    sign_in(page, url, "rep@example.test", then="/kb")

    # Search by a word remembered (a prefix of it, even).
    page.get_by_label("Search the knowledge base").fill("per se")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"q=per\+se"))
    hits = page.locator("ol.hits h3").all_inner_texts()
    assert sorted(hits) == ["Northwind went with Acme", "Price per seat, said early"]
    assert page.locator("ol.hits mark").count() >= 2
    check_page(page, axe_source, tmp_path, "kb-search")

    # Narrow by the competitor facet, then remove the filter again.
    page.locator("aside.facets").get_by_role("link", name="acme").click()
    page.wait_for_url(re.compile(r"competitor=acme"))
    assert page.locator("ol.hits h3").all_inner_texts() == ["Northwind went with Acme"]
    page.locator(".kb-active").get_by_role("link", name=re.compile("Competitor: acme")).click()
    page.wait_for_url(re.compile(r"/kb\?q=per\+se$"))
    assert page.locator("ol.hits li").count() == 2

    # Open the entry: facts link back to filtered searches; the buyer's markup is shown as text.
    page.get_by_role("link", name="Northwind went with Acme").click()
    page.wait_for_url(re.compile(r"/kb/2024-05-03-northwind-went-with-acme$"))
    assert page.locator("code.language-buyer").inner_text().endswith("<b>honest</b>")
    assert page.locator(".entry-body b").count() == 0
    check_page(page, axe_source, tmp_path, "kb-entry")
    page.locator("dl.facts").get_by_role("link", name="Price").click()
    page.wait_for_url(re.compile(r"/kb\?reason=price$"))
    assert page.locator("ol.hits h3").all_inner_texts() == ["Northwind went with Acme"]

    # Write a lesson: preview first (nothing saved), then save.
    page.get_by_role("link", name="Write a lesson").click()
    page.get_by_label("Title").fill("Name the seat price first")
    page.get_by_label("Lesson").fill("Buyers compare **per seat**.\n\n- say it early\n- in writing")
    page.get_by_role("button", name="Preview").click()
    preview = page.locator("section.preview")
    assert preview.locator("strong").inner_text() == "per seat"
    assert preview.locator("li").all_inner_texts() == ["say it early", "in writing"]
    assert page.get_by_label("Title").input_value() == "Name the seat price first"
    check_page(page, axe_source, tmp_path, "kb-lesson-preview")
    page.get_by_role("button", name="Save lesson").click()
    page.wait_for_url(re.compile(r"/kb/\d{4}-\d{2}-\d{2}-name-the-seat-price-first$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Name the seat price first"
    assert page.get_by_role("link", name="Edit this lesson").is_visible()

    # And it is found at once.
    page.goto(f"{url}/kb?q=seat+price")
    assert "Name the seat price first" in page.locator("ol.hits h3").all_inner_texts()


def test_kb_pages_fit_a_phone(live_server, new_page, axe_source, tmp_path):
    url, app = live_server.url, live_server.app
    seed(app)
    page = new_page(PHONE)
    sign_in(page, url, "rep@example.test", then="/kb")
    for path in ("/kb?q=seat", "/kb/2024-05-04-globex-chose-initech", "/kb/lessons/new"):
        page.goto(url + path)
        check_page(page, axe_source, tmp_path, "phone-" + re.sub(r"\W+", "-", path).strip("-"))


def test_an_anonymous_debrief_shows_its_deal_to_its_rep_and_nothing_to_another_rep(
    live_server, new_page, axe_source, tmp_path
):
    url, app = live_server.url, live_server.app
    from debrief.store import get_store

    with app.app_context():
        store = get_store()
        rep = store.table("users").find_one("email", "rep@example.test")
        deal_id = store.table("deals").insert(
            {"company": "Vexley GmbH", "contact_name": "Vera Vogt", "rep_id": rep["id"]}
        )
        common = {"date": datetime.date(2024, 5, 3), "rep": "rep@example.test"}
        debrief = service.publish(
            entries.Entry(
                kind="debrief",
                title="A buyer's debrief: Chose another vendor, mainly Price",
                prospect_reasons=["price"],
                body="## In the buyer's words\n\n"
                + entries.buyer_block("[the buyer's company] needed a pilot first."),
                **common,
            )
        )
        lesson = service.publish(
            entries.Entry(
                kind="lesson", title="Offer a pilot", body="Early.", deal=deal_id, **common
            )
        )
        store.table("answers").insert(
            {"deal_id": deal_id, "entry_slug": debrief.slug, "attribution": "anonymous"}
        )
    for who, knows in (("rep@example.test", True), ("other@example.test", False)):
        for viewport, size in ((PHONE, "390"), (DESKTOP, "1280")):
            page = new_page(viewport)
            sign_in(page, url, who, then="/kb")
            page.goto(f"{url}/kb/{debrief.slug}")
            assert page.locator("code.language-buyer").count() == 1
            assert (page.locator(f'a[href="/deals/{deal_id}"]').count() == 1) is knows
            assert (page.locator(f'a[href="/kb/{lesson.slug}"]').count() == 1) is knows
            check_page(page, axe_source, tmp_path, f"anonymous-debrief-{who.split('@')[0]}-{size}")
            page.goto(f"{url}/kb/{lesson.slug}")
            assert (page.locator(f'a[href="/kb/{debrief.slug}"]').count() == 1) is knows
            screenshot(page, tmp_path, f"lesson-of-anonymous-{who.split('@')[0]}-{size}")
