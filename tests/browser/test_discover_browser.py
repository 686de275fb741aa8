"""A manager in Chromium reads the proposed themes, renames one and creates it with its entries
tagged; a bad name comes back beside the field. Phone and desktop widths, axe on each page."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from bench import topics
from browser.conftest import DESKTOP, PHONE, check_page, sign_in
from debrief.kb import service
from debrief.themes import proposals

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1280px"])
def test_create_a_proposed_theme(live_server, new_page, axe_source, tmp_path, viewport):
    app = live_server.app
    planted = topics.write(
        Path(app.config["ENTRIES_DIR"]), per_topic=12, unrelated=20, topics=("mobile", "invoices"),
        recent_days=80, today=datetime.date.today(),
    )  # fmt: skip
    assert proposals.refresh(Path(app.config["DATA_DIR"]), Path(app.config["ENTRIES_DIR"]))
    page = new_page(viewport)
    sign_in(page, live_server.url, "boss@example.test", then="/themes/discover")
    width = viewport["width"]
    check_page(page, axe_source, tmp_path, f"discover-{width}")
    mobile = set(planted.topics["mobile"])
    card = page.locator("article.proposal").filter(has_text="App")
    assert card.count() >= 1
    card = card.first
    name = card.get_by_role("textbox", name="Name")
    name.fill("")
    card.get_by_role("button", name="Create theme").click()
    page.wait_for_load_state()
    # The browser's own check stops an empty required field: nothing was sent.
    assert "/themes/discover" in page.url
    name.fill("Discover")  # a page's name: the server refuses it, beside the field
    card.get_by_role("button", name="Create theme").click()
    page.wait_for_load_state()
    error = page.locator(".proposal .error")
    assert "name of a page" in error.first.inner_text()
    check_page(page, axe_source, tmp_path, f"discover-error-{width}")
    card = page.locator("article.proposal").filter(has=page.locator(".error")).first
    card.get_by_role("textbox", name="Name").fill("Mobile and offline")
    card.get_by_role("button", name="Create theme").click()
    page.wait_for_url("**/themes/mobile-and-offline")
    assert "entries tagged" in page.locator(".flash").inner_text()
    with app.app_context():
        found = service.search("", {"theme": "mobile-and-offline"}, None, None, 1, per_page=100)
        tagged = {h.slug for h in found.hits}
    assert len(tagged & mobile) >= 0.6 * len(mobile)
    page.goto(f"{live_server.url}/dashboard")
    check_page(page, axe_source, tmp_path, f"dashboard-{width}")
