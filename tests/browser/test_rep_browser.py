"""A rep's day in Chromium: the new answer at home, the deal, a lesson about it, the deal again."""

from __future__ import annotations

import datetime
import re

import pytest
from world import deal_record, open_link, page_token

from browser.conftest import DESKTOP, PHONE, check_page, sign_in
from debrief import entries
from debrief.auth import users
from debrief.kb import service
from debrief.store import get_store

pytestmark = pytest.mark.browser


def seed(app) -> int:
    """Rep's lost deal with a sent invitation, answered by the buyer; a teammate's lesson."""
    with app.app_context():
        store = get_store()
        rep = users.find_user(store, "rep@example.test")
        deal_id = store.table("deals").insert(
            deal_record(rep, "Alphacorp", competitor="Rivalsoft", claims=[])
        )
        _, token = open_link(store, deal_id)
        open_link(store, store.table("deals").insert(deal_record(rep, "Betaco")))  # waiting
        service.publish(
            entries.Entry(
                kind="lesson",
                title="Rivalsoft wins on the first price",
                date=datetime.date(2024, 5, 1),
                rep="other@example.test",
                competitor="Rivalsoft",
                rep_reasons=["price"],
                body="Name the price in the first call.",
            )
        )
    # The buyer answers through the real form (the link is the key).
    buyer = app.test_client()
    form = {"outcome": "competitor", "reason": "price", "attribution": "anonymous"}
    form |= {"may_contact": "no", "own_words": "Rivalsoft was cheaper per seat."}
    answered = buyer.post(
        f"/s/{token}", data={**form, "csrf_token": page_token(buyer, f"/s/{token}")}
    )
    assert answered.status_code == 302, answered.get_data(as_text=True)[:2000]
    return deal_id


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390", "1280"])
def test_a_rep_sees_the_answer_at_home_and_writes_a_lesson_about_the_deal(
    live_server, new_page, axe_source, tmp_path, viewport
):
    url, app = live_server.url, live_server.app
    deal_id = seed(app)
    width = viewport["width"]
    page = new_page(viewport)
    sign_in(page, url, "rep@example.test")
    page.wait_for_url(f"{url}/")

    # Home: the new answer, and the deal waiting for the rep's lesson.
    new = page.locator("section[aria-labelledby=new-h]")
    assert new.get_by_role("link", name="Alphacorp", exact=True).is_visible()
    to_write = page.locator("section[aria-labelledby=write-h]")
    assert to_write.get_by_role("link", name="Alphacorp", exact=True).is_visible()
    waiting = page.locator("section[aria-labelledby=waiting-h]")
    assert waiting.get_by_role("link", name="Betaco", exact=True).is_visible()
    check_page(page, axe_source, tmp_path, f"home-{width}")

    # The deal: the buyer's answer, and what the team learned about Rivalsoft and price.
    new.get_by_role("link", name="Alphacorp", exact=True).click()
    page.wait_for_url(f"{url}/deals/{deal_id}")
    learned = page.locator("section[aria-labelledby=learned-h]")
    assert learned.get_by_role("link", name="Rivalsoft wins on the first price").is_visible()
    assert "Shares: Rivalsoft, Price" in learned.inner_text()
    check_page(page, axe_source, tmp_path, f"deal-{width}")

    # Write a lesson about this deal: the form is tied to it; saving comes back to the deal.
    page.get_by_role("link", name="Write a lesson about this deal").click()
    page.wait_for_url(re.compile(rf"/kb/lessons/new\?deal={deal_id}$"))
    assert page.get_by_role("heading", name="Write a lesson about Alphacorp").is_visible()
    assert page.get_by_label("Deal").input_value() == str(deal_id)
    check_page(page, axe_source, tmp_path, f"lesson-form-{width}")
    page.get_by_label("Title").fill("Say the seat price before the demo")
    page.get_by_label("Lesson").fill("They compared **per seat**. Next time: price first.")
    page.get_by_role("button", name="Save lesson").click()
    page.wait_for_url(f"{url}/deals/{deal_id}")
    lessons = page.locator("section[aria-labelledby=lessons-h]")
    assert lessons.get_by_role("link", name="Say the seat price before the demo").is_visible()
    check_page(page, axe_source, tmp_path, f"deal-with-lesson-{width}")

    # Home again: the answer is still new in this visit; no lesson is owed any more.
    page.get_by_role("link", name="Debrief", exact=True).click()
    page.wait_for_url(f"{url}/")
    assert new.get_by_role("link", name="Alphacorp", exact=True).is_visible()
    assert to_write.get_by_role("link", name="Alphacorp", exact=True).count() == 0
    assert "Every answered deal has your lesson." in to_write.inner_text()

    # A manager opens the same deal: the rep's lesson is listed, and they may write one too.
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, url, "boss@example.test", then=f"/deals/{deal_id}")
    assert lessons.get_by_role("link", name="Say the seat price before the demo").is_visible()
    assert page.get_by_role("link", name="Write a lesson about this deal").is_visible()
    check_page(page, axe_source, tmp_path, f"deal-manager-{width}")
