"""A rep in Chromium searches the starter lessons in other words than theirs (SPEC 2.5)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from browser.conftest import DESKTOP, PHONE, check_page, sign_in

pytestmark = pytest.mark.browser

STARTER = Path(__file__).resolve().parents[2] / "entries" / "starter"


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1280px"])
def test_a_paraphrase_finds_its_lesson(live_server, new_page, axe_source, tmp_path, viewport):
    shutil.copytree(STARTER, Path(live_server.app.config["ENTRIES_DIR"]) / "starter")
    (Path(live_server.app.config["DATA_DIR"]) / "synonyms.txt").write_text(
        "reference, referral, case study\ncalled back, phoned, rang\n", encoding="utf-8"
    )  # a manager's lines: merged with the shipped list
    page = new_page(viewport)
    sign_in(page, live_server.url, "rep@example.test", then="/kb")
    size = f"{viewport['width']}px"

    # Other words than the lesson's: "a reference that never called back".
    page.get_by_label("Search the knowledge base").fill("referral never phoned back")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"q=referral"))
    first = page.locator("ol.hits li").first
    assert first.locator("h3").inner_text() == "Ask the ones who leave"
    assert first.locator(".partial").count() == 0  # it has every word, through synonyms
    assert "called back" in " ".join(first.locator("mark").all_inner_texts())
    check_page(page, axe_source, tmp_path, f"kb-paraphrase-{size}")

    # A typo no word form explains: corrected, said so, and the words as typed one click away.
    page.get_by_label("Search the knowledge base").fill("incumbnet")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"q=incumbnet"))
    assert "Showing results for incumbent" in page.locator(".kb-corrected").inner_text()
    assert page.locator("ol.hits h3").count() >= 1
    check_page(page, axe_source, tmp_path, f"kb-corrected-{size}")
    page.get_by_role("link", name="incumbnet").click()
    page.wait_for_url(re.compile(r"typed=1"))
    assert page.locator("ol.hits h3").count() == 0

    # Some of the words: shown, and marked.
    page.goto(f"{live_server.url}/kb?q=sponsor+lost+interest+layoffs")
    assert page.locator("ol.hits .partial").first.inner_text() == "Matches some of your words"
    check_page(page, axe_source, tmp_path, f"kb-partial-{size}")


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1280px"])
def test_a_manager_adds_synonyms_on_the_themes_page(
    live_server, new_page, axe_source, tmp_path, viewport
):
    page = new_page(viewport)
    sign_in(page, live_server.url, "boss@example.test", then="/themes")
    size = f"{viewport['width']}px"
    field = page.get_by_label("A line of synonyms")
    field.fill("go-live")  # one member is no group: the error beside the field
    page.get_by_role("button", name="Add line").click()
    page.wait_for_load_state()
    assert "at least two" in page.locator("#line-error").inner_text()
    assert page.get_by_label("A line of synonyms").input_value() == "go-live"
    check_page(page, axe_source, tmp_path, f"themes-synonym-error-{size}")
    page.get_by_label("A line of synonyms").fill("go-live, cutover, launch day")
    page.get_by_role("button", name="Add line").click()
    page.wait_for_load_state()
    assert "go-live, cutover, launch day" in page.locator(".synonym-lines").inner_text()
    check_page(page, axe_source, tmp_path, f"themes-synonyms-{size}")
