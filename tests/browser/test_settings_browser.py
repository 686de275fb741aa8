"""A signed-in person in Chromium opens Settings from the menu and turns the weekly digest off."""

from __future__ import annotations

import re

import pytest

from browser.conftest import DESKTOP, PHONE, check_page, sign_in
from debrief.auth import users
from debrief.store import get_store

pytestmark = pytest.mark.browser


def wants_digest(app, email: str) -> bool:
    """The account's setting as stored."""
    with app.app_context():
        return users.wants_digest(users.find_user(get_store(), email))


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1280px"])
@pytest.mark.parametrize("email", ["rep@example.test", "boss@example.test"])
def test_settings_turn_the_weekly_digest_off_and_on(
    live_server, new_page, axe_source, tmp_path, viewport, email
):
    url, app = live_server.url, live_server.app
    page = new_page(viewport)
    sign_in(page, url, email, then="/deals")

    # Reached from the menu, beside Sign out.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    page.wait_for_url(re.compile(r"/settings$"))
    box = page.get_by_label("Weekly digest")
    assert box.is_checked()
    # What it is, tied to the box for screen readers.
    hint = page.locator(f"#{box.get_attribute('aria-describedby')}").inner_text()
    assert hint.startswith(f"Once a week, by mail to {email}")
    assert page.get_by_role("link", name="Settings").get_attribute("aria-current") == "page"
    name = f"settings-{email.split('@')[0]}-{viewport['width']}"
    check_page(page, axe_source, tmp_path, name)

    box.uncheck()
    page.get_by_role("button", name="Save settings").click()
    page.wait_for_url(re.compile(r"/settings$"))
    assert page.get_by_role("status").inner_text() == "Weekly digest turned off."
    assert not page.get_by_label("Weekly digest").is_checked()
    assert not wants_digest(app, email)
    check_page(page, axe_source, tmp_path, f"{name}-off")

    page.reload()
    assert not page.get_by_label("Weekly digest").is_checked()
    page.get_by_label("Weekly digest").check()
    page.get_by_role("button", name="Save settings").click()
    page.wait_for_url(re.compile(r"/settings$"))
    assert page.get_by_label("Weekly digest").is_checked() and wants_digest(app, email)
