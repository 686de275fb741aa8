"""The whole journey in Chromium at phone width: deal, invitation mail, keyboard-only answer."""

from __future__ import annotations

import email
import email.policy
import re
from pathlib import Path

import pytest

from browser.conftest import (
    DESKTOP,
    PHONE,
    check_page,
    overflowing,
    page_width,
    screenshot,
    sign_in,
)
from debrief.deals import invitations
from debrief.mail import text_links
from debrief.store import get_store

pytestmark = pytest.mark.browser


def tab_to(page, css: str, limit: int = 60) -> None:
    """Press Tab until the focused element matches css; fail if the keyboard cannot reach it."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement?.matches(s) ?? false", css):
            return
    raise AssertionError(f"{css} cannot be reached with the Tab key")


def choose(page, name: str, value: str) -> None:
    """Pick a radio button the keyboard way: Tab into the group, arrow keys to the value."""
    tab_to(page, f'input[name="{name}"]')
    for _ in range(15):
        active = page.evaluate(
            "() => [document.activeElement.value, document.activeElement.checked]"
        )
        if active[0] == value:
            if not active[1]:
                page.keyboard.press("Space")
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"no option {value!r} in the {name} group")


def survey_link(app) -> str:
    """The survey link in the one invitation mail in the outbox."""
    [eml] = (Path(app.config["DATA_DIR"]) / "outbox").glob("*.eml")
    msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    return next(link for link in text_links(msg) if re.search(r"/s/[\w-]+$", link))


def test_a_buyer_answers_by_keyboard_and_the_rep_sees_it(
    live_server, new_page, axe_source, tmp_path
):
    url, app = live_server.url, live_server.app
    rep = new_page(PHONE)
    sign_in(rep, url, "rep@example.test", then="/deals")

    # The rep records the lost deal and sends the invitation.
    rep.goto(f"{url}/deals/new")
    rep.get_by_label("Company").fill("Northwind Traders")
    rep.get_by_label("Contact name").fill("Nina North")
    rep.get_by_label("Contact email").fill("nina@northwind.example.com")
    rep.get_by_label("Main reason").select_option("price")
    rep.get_by_label("Competitor").fill("Rivalsoft")
    rep.get_by_label("Claims made during the sale").fill("Live in two weeks\nSSO included")
    rep.get_by_role("button", name="Save the deal").click()
    rep.wait_for_load_state()
    assert rep.locator(".error").all_inner_texts() == []
    rep.wait_for_url(re.compile(r"/deals/\d+$"))
    deal_url = rep.url
    rep.get_by_role("link", name="Preview and send").click()
    rep.get_by_role("button", name="Send this mail").click()
    rep.wait_for_url(deal_url)

    # The buyer opens the link from the mail, in a browser of their own.
    buyer = new_page(PHONE)
    buyer.goto(survey_link(app))
    org = app.config["ORG_NAME"]
    assert buyer.get_by_role("heading", level=1).inner_text() == f"Why didn't you choose {org}?"
    assert buyer.locator("header nav[aria-label=Main]").count() == 0  # no staff navigation
    check_page(buyer, axe_source, tmp_path, "survey-phone")

    buyer.locator("body").focus()
    choose(buyer, "outcome", "competitor")
    tab_to(buyer, "#competitor")
    buyer.keyboard.type("Rivalsoft")
    choose(buyer, "reason", "trust")
    tab_to(buyer, ".other-reasons > summary")  # folded: Enter opens it, no script needed
    buyer.keyboard.press("Enter")
    tab_to(buyer, 'input[name="reasons"][value="price"]')
    buyer.keyboard.press("Space")
    tab_to(buyer, "#own_words")
    buyer.keyboard.type("Your demo was slides; theirs was the real product. <b>honest</b>")
    tab_to(buyer, ".claims > summary")
    buyer.keyboard.press("Enter")
    choose(buyer, "claim_0", "did-not-hold")
    choose(buyer, "claim_1", "held")
    tab_to(buyer, ".would-change > summary")
    buyer.keyboard.press("Enter")
    tab_to(buyer, "#would_change")
    buyer.keyboard.type("A pilot with our own data.")
    choose(buyer, "trust", "2")
    tab_to(buyer, 'button[type="submit"]')

    # The labels name what the keyboard chose.
    assert buyer.get_by_label("Chose another vendor").is_checked()
    assert buyer.get_by_role("radio", name="Trust", exact=True).is_checked()
    assert buyer.get_by_label("Anonymous").is_checked()
    assert buyer.get_by_label("No, please don't contact me").is_checked()
    buyer.keyboard.press("Enter")

    buyer.wait_for_url(re.compile(r"/thanks$"))
    assert buyer.get_by_role("heading", level=1).inner_text() == f"Thank you: {org} has your answer"
    assert "Your demo was slides" in buyer.locator(".your-answer").inner_text()
    assert "<b>honest</b>" in buyer.locator(".your-answer").inner_text()  # shown as typed
    check_page(buyer, axe_source, tmp_path, "thanks-phone")

    # The rep sees the answer on the deal, with the two main reasons marked as different.
    rep.goto(deal_url)
    answer = rep.locator(".buyer-answer")
    assert "Your demo was slides" in answer.inner_text()
    main_row = answer.locator("tr", has_text="Main reason")
    assert "Price" in main_row.inner_text() and "Trust" in main_row.inner_text()
    assert main_row.locator(".differs").inner_text() == "✗ Differs"
    screenshot(rep, tmp_path, "deal-answer-phone")
    assert overflowing(rep, ".buyer-answer") == []


HOSTILE_WORD = "Unbreakable" * 60


def test_the_form_fits_a_phone_with_long_words_and_errors(live_server, new_page, tmp_path):
    link = open_form(live_server, company="Longword Ltd", claims=[HOSTILE_WORD, "שלום 😀 RTL"])
    for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        buyer = new_page(viewport)
        buyer.goto(link)
        buyer.get_by_label("In your own words, what decided it?").fill(HOSTILE_WORD)
        buyer.get_by_role("button", name="Send my answer").click()  # no decision: errors
        assert buyer.locator(".error-summary").is_visible()
        assert buyer.locator("#outcome-error").inner_text() == "Please choose what you decided."
        assert (
            buyer.get_by_label("In your own words, what decided it?").input_value() == HOSTILE_WORD
        )
        screenshot(buyer, tmp_path, f"errors-{name}")
        assert page_width(buyer) <= viewport["width"], overflowing(buyer)


LONG_ORG = "Harbourline Maritime Logistics Software Cooperative & Partners"


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1280px"])
def test_the_form_and_thank_you_page_name_the_org_and_fit(
    live_server, new_page, axe_source, tmp_path, viewport
):
    live_server.app.config.update(
        ORG_NAME=LONG_ORG,
        ORG_URL="https://harbourline.example/",
        PRIVACY_URL="https://harbourline.example/privacy",
    )
    link = open_form(live_server, company="Quuxbridge Ltd", rep_reason="status-quo",
                     rep_reasons=["contract"], claims=["Live in two weeks"],
                     notes="Rep note: zanzibar-quokka", competitor="Rivalsoft")  # fmt: skip
    name = f"{viewport['width']}px"
    buyer = new_page(viewport)
    buyer.goto(link)
    heading = buyer.get_by_role("heading", level=1)
    assert LONG_ORG in heading.inner_text() and heading.is_visible()
    assert buyer.get_by_role("link", name=LONG_ORG, exact=True).is_visible()  # the header, linked
    assert "Only Rita and their managers at" in buyer.locator(".who-reads").inner_text()
    assert buyer.get_by_role("link", name=re.compile("privacy notice")).is_visible()
    check_page(buyer, axe_source, tmp_path, f"org-form-{name}")

    buyer.get_by_label("Chose another vendor").check()
    buyer.get_by_label("Which vendor did you choose? (optional)").fill("Rivalsoft")
    buyer.get_by_role("group", name="What was the main reason?").get_by_label("Trust").check()
    buyer.get_by_label("In your own words, what decided it?").fill("Slides, not a product.")
    buyer.get_by_role("button", name="Send my answer").click()
    buyer.wait_for_url(re.compile(r"/thanks$"))
    heading = buyer.get_by_role("heading", level=1)
    assert heading.inner_text() == f"Thank you: {LONG_ORG} has your answer"
    mine = buyer.locator(".your-answer").inner_text()
    assert "Slides, not a product." in mine and "Rivalsoft" in mine and "Trust" in mine
    page = buyer.locator("main").inner_text()
    for hidden in ("Fear of change", "Contract terms", "zanzibar-quokka", "Quuxbridge", "Deal "):
        assert hidden not in page
    check_page(buyer, axe_source, tmp_path, f"org-thanks-{name}")


def open_form(live_server, **fields) -> str:
    """The survey link of a fresh deal of rep 1: a short one, or with the fields given."""
    with live_server.app.app_context():
        store = get_store()
        deal_id = store.table("deals").insert(
            {"company": "Shortform Ltd", "contact_email": "s@shortform.test", "rep_id": 1,
             "rep_reason": "price", "rep_reasons": [],
             "claims": ["Live in two weeks", "SSO included"], "competitor": None,
             "lost_on": "2024-01-01", **fields}
        )  # fmt: skip
        inv = invitations.create_invitation(store, store.table("deals").get(deal_id), 30)
        return f"{live_server.url}/s/{invitations.issue_token(store, inv['id'])}"


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1280px"])
def test_the_form_fits_two_phone_screens_with_the_optional_parts_folded(
    live_server, new_page, axe_source, tmp_path, viewport
):
    buyer = new_page(viewport)
    buyer.goto(open_form(live_server))
    name = f"{viewport['width']}px"
    send = buyer.get_by_role("button", name="Send my answer").bounding_box()
    bottom = send["y"] + send["height"] + buyer.evaluate("() => window.scrollY")
    if viewport is PHONE:
        assert bottom < 2 * PHONE["height"], bottom  # was 4,047 px
    # Each reason is shown once; the other reasons, the claims and the name are folded.
    assert buyer.locator('input[name="reason"]:visible').count() == 11
    assert buyer.locator('input[name="reasons"]:visible').count() == 0
    assert buyer.locator('input[name^="claim_"]:visible').count() == 0
    assert buyer.get_by_label("Your name").is_hidden()
    # The trust scale is one row: its five choices side by side.
    tops = {
        round(box["y"])
        for box in map(lambda e: e.bounding_box(), buyer.locator('input[name="trust"]').all())
    }
    assert len(tops) == 1, tops
    check_page(buyer, axe_source, tmp_path, f"short-form-{name}")
    # Folded parts open with a click (or Enter), with no script needed.
    buyer.get_by_text("Any other reasons?").first.click()
    assert buyer.locator('input[name="reasons"]:visible').count() == 11
    check_page(buyer, axe_source, tmp_path, f"short-form-open-{name}")


HEBREW = "המחיר היה גבוה מדי, and the demo was slides."


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1280px"])
def test_a_long_paste_is_counted_not_cut_and_text_keeps_its_direction(
    live_server, new_page, axe_source, tmp_path, viewport
):
    buyer = new_page(viewport)
    buyer.goto(open_form(live_server))
    name = f"{viewport['width']}px"
    words = buyer.get_by_label("In your own words, what decided it?")
    count = buyer.locator("#own_words-count")
    assert count.inner_text() == "0 of 10,000 characters"
    assert "own_words-count" in words.get_attribute("aria-describedby")
    words.fill(HEBREW)
    assert count.inner_text() == f"{len(HEBREW)} of 10,000 characters"
    assert words.evaluate("e => e.matches(':dir(rtl)')")  # dir=auto: typed right to left
    pasted = HEBREW + " " + "x" * (10_005 - len(HEBREW) - 1)
    words.fill(pasted)
    assert words.input_value() == pasted  # nothing cut
    assert count.inner_text().startswith("10,005 of 10,000 characters: 5 too many.")
    assert "over" in count.get_attribute("class")
    check_page(buyer, axe_source, tmp_path, f"count-over-{name}")

    # The server refuses it beside the field and gives every character back.
    buyer.get_by_label("Chose another vendor").check()
    buyer.get_by_label("Which vendor did you choose? (optional)").fill("株式会社ライバル")
    buyer.get_by_role("group", name="What was the main reason?").get_by_label("Price").check()
    buyer.get_by_role("button", name="Send my answer").click()
    buyer.wait_for_load_state()
    error = buyer.locator("#own_words-error")
    assert "10,005 characters long; the limit is 10,000" in error.inner_text()
    words = buyer.get_by_label("In your own words, what decided it?")
    assert words.input_value() == pasted
    assert buyer.locator("#own_words-count").inner_text().startswith("10,005 of 10,000")
    assert buyer.get_by_label("Which vendor did you choose? (optional)").is_visible()
    check_page(buyer, axe_source, tmp_path, f"count-refused-{name}")

    # Shortened, it is taken; the thank-you page shows it in its own direction.
    words.fill(HEBREW)
    buyer.get_by_role("button", name="Send my answer").click()
    buyer.wait_for_url(re.compile(r"/thanks$"))
    quote = buyer.locator(".your-answer blockquote.buyer")
    assert quote.inner_text() == HEBREW and quote.evaluate("e => e.matches(':dir(rtl)')")
    assert "株式会社ライバル" in buyer.locator(".your-answer").inner_text()
    check_page(buyer, axe_source, tmp_path, f"thanks-rtl-{name}")
