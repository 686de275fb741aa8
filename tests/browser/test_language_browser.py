"""The buyer's form in each language at 390 px, and right to left (issue 18, points 3 and 4).

No right-to-left language ships yet, so `rtl` is a test catalog made here: every English string
written in Arabic letters (placeholders and markup kept), served as `ar`. It proves the layout
mirrors with dir="rtl"; it is not a translation.
"""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask_babel import get_babel

from browser.conftest import DESKTOP, PHONE, check_page
from browser.test_survey_browser import open_form
from debrief import i18n

TRANSLATIONS = Path(__file__).resolve().parents[2] / "debrief" / "translations"
ARABIC = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
# What a catalog must keep as it is: placeholders, markup, the " – " the trust scale splits on.
KEEP = re.compile(r"%\(\w+\)s|<[^>]*>|&\w+;| – ")
# The form's first heading, and its "Send" button, per language.
HEADINGS = {
    "en": ("Why didn't you choose Harbourline?", "Send my answer"),
    "de": ("Warum haben Sie sich nicht für Harbourline entschieden?", "Antwort senden"),
    "fr": ("Pourquoi n'avez-vous pas choisi Harbourline\u00a0?", "Envoyer ma réponse"),
    "es": ("¿Por qué no eligió a Harbourline?", "Enviar mi respuesta"),
}


def pseudo_arabic(text: str) -> str:
    """English in Arabic letters, with what must stay (KEEP) untouched."""
    letters = str.maketrans(string.ascii_letters, (ARABIC * 2)[:52])
    kept = KEEP.split(text)
    marks = KEEP.findall(text) + [""]
    return "".join(part.translate(letters) + mark for part, mark in zip(kept, marks, strict=True))


def rtl_catalog(folder: Path) -> Path:
    """A compiled `ar` catalog holding every msgid of the German one, in pseudo_arabic."""
    with (TRANSLATIONS / "de" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        german = read_po(f)
    catalog = Catalog(locale="ar")
    for message in german:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            forms = (pseudo_arabic(message.id[1]),) * catalog.num_plurals
            catalog.add(message.id, forms, flags=message.flags)
        else:
            catalog.add(message.id, pseudo_arabic(message.id), flags=message.flags)
    target = folder / "ar" / "LC_MESSAGES"
    target.mkdir(parents=True)
    with (target / "messages.mo").open("wb") as f:
        write_mo(f, catalog)
    return folder


@pytest.mark.browser
@pytest.mark.parametrize("language", ["en", "de", "fr", "es", "ar"])
def test_the_form_in_each_language_fits_a_phone_and_switching_keeps_the_text(
    live_server, new_page, axe_source, tmp_path, language
):
    app = live_server.app
    # The test catalog beside the shipped ones (read on the first request).
    get_babel(app).translation_directories.append(str(rtl_catalog(tmp_path / "catalogs")))
    with app.app_context():
        assert "ar" in i18n.shipped() and i18n.direction("ar") == "rtl"
    link = open_form(live_server, language=language)

    page = new_page(PHONE)
    page.goto(link)
    rtl = language == "ar"
    assert page.locator("html").get_attribute("lang") == language
    assert page.locator("html").get_attribute("dir") == ("rtl" if rtl else "ltr")
    heading, send = HEADINGS.get(language, (None, None))
    if heading:
        assert page.locator("h1").inner_text() == heading
        assert page.get_by_role("button", name=send).is_visible()
    else:
        assert re.search(f"[{ARABIC}]", page.locator("h1").inner_text())

    check_page(page, axe_source, tmp_path, f"form-{language}-390")
    # Right to left mirrors the form: a choice's radio button is at the right of its words,
    # the promise's bar on the right edge; left to right the other way round.
    radio = page.locator("#outcome-0").bounding_box()
    label = page.locator("label[for=outcome-0]").bounding_box()
    assert (radio["x"] > label["x"]) is rtl
    promise = page.locator(".promise")
    side = "right" if rtl else "left"
    assert promise.evaluate(f"e => getComputedStyle(e).border{side.title()}Width") == "4px"

    # Typed text and a choice survive a change of language (a plain form submit: no script).
    page.locator("#outcome-1").check()
    page.locator("#own_words").fill("Zu teuer für uns, ehrlich gesagt. ثمن")
    other = "de" if language != "de" else "en"
    with page.expect_navigation():
        page.locator(f"nav.languages button[value={other}]").click()
    assert page.locator("html").get_attribute("lang") == other
    assert page.locator("#own_words").input_value() == "Zu teuer für uns, ehrlich gesagt. ثمن"
    assert page.locator("#outcome-1").is_checked()
    assert page.locator(".error-summary").count() == 0

    page.set_viewport_size(DESKTOP)
    page.goto(link)
    check_page(page, axe_source, tmp_path, f"form-{language}-1280")
