"""The knowledge base and /people on a phone (390 px) and a wide screen (issue 16, point 3)."""

from __future__ import annotations

import datetime

import pytest

from browser.conftest import DESKTOP, PHONE, check_page, screenshot, sign_in
from debrief import entries
from debrief.kb import service
from debrief.taxonomy import REASONS

pytestmark = pytest.mark.browser


def seed(app) -> None:
    """Enough entries, competitors and reasons for a long facet column."""
    with app.app_context():
        for i, reason in enumerate(REASONS):
            service.publish(
                entries.Entry(
                    kind="debrief" if i % 2 else "lesson",
                    title=f"Lost on {reason} to Vendor {i}",
                    date=datetime.date(2024, 5, 1 + i),
                    rep="rep@example.test" if i % 3 else "other@example.test",
                    competitor=f"Vendor {i}",
                    prospect_reasons=[reason],
                    body=f"What we learned about {reason}.",
                )
            )


def box(page, css: str) -> dict:
    """The bounding box of the first element matching css, in page coordinates."""
    return page.locator(css).first.bounding_box()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1280px"])
def test_kb_shows_results_first_and_the_facets_after_or_beside_them(
    live_server, new_page, axe_source, tmp_path, viewport
):
    seed(live_server.app)
    page = new_page(viewport)
    sign_in(page, live_server.url, "rep@example.test")
    page.goto(f"{live_server.url}/kb")
    first_hit, facets = box(page, ".hit"), box(page, "aside.facets")
    # Results come first in the page's order too (screen readers, keyboard).
    order = page.evaluate(
        """() => document.querySelector('.hit').compareDocumentPosition(
                   document.querySelector('aside.facets')) & Node.DOCUMENT_POSITION_FOLLOWING"""
    )
    assert order
    if viewport is PHONE:
        assert first_hit["y"] < PHONE["height"], first_hit  # the first result on the first screen
        assert facets["y"] > first_hit["y"]
        page.get_by_role("link", name="Narrow the results").click()
        assert page.url.endswith("#facets")
        facets = page.locator("aside.facets").bounding_box()
        assert 0 <= facets["y"] < PHONE["height"]  # the jump lands on the facets
    else:
        assert abs(facets["y"] - first_hit["y"]) < 100 and facets["x"] > first_hit["x"]  # beside
        assert page.get_by_role("link", name="Narrow the results").is_hidden()
    check_page(page, axe_source, tmp_path, f"kb-{viewport['width']}px")


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1280px"])
def test_people_deactivate_and_reset_are_in_reach(
    live_server, new_page, axe_source, tmp_path, viewport
):
    page = new_page(viewport)
    sign_in(page, live_server.url, "boss@example.test")
    page.goto(f"{live_server.url}/people")
    name = f"{viewport['width']}px"
    screenshot(page, tmp_path, f"people-{name}")
    deactivate = page.get_by_role("button", name="Deactivate rep@example.test")
    reset = page.locator("summary", has_text="the password of rep@example.test")
    for control in (deactivate, reset):
        found = control.bounding_box()
        assert found["x"] >= 0 and found["x"] + found["width"] <= viewport["width"], found
    reset.click()
    page.locator("details[open] input[type=password]").first.wait_for()
    check_page(page, axe_source, tmp_path, f"people-reset-{name}")
    deactivate.click()
    page.wait_for_load_state()
    assert page.get_by_role("button", name="Reactivate rep@example.test").is_visible()
