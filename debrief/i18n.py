"""The buyer's language: language tags, the catalogs we ship, and the language of each page.

Buyers read the survey pages and mails in their deal's language (SPEC 2.2); the team's pages
stay in English. A deal stores a BCP 47 tag (`de`, `pt-BR`); a tag with no catalog is shown in
the closest language we have (`de-CH` -> `de`), else in English, and the rep is told so.
Python code that writes entries, the index or the store never calls gettext: taxonomy labels
and entry text stay English there, and only pages and mails rendered for a buyer translate.
"""

from __future__ import annotations

import datetime
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from flask import Flask, Response, current_app, g, request
from flask_babel import Babel, format_date, get_babel, get_locale, gettext, lazy_gettext
from wtforms.fields.choices import SelectChoice

from debrief import taxonomy
from debrief.language_tag import ENGLISH, LanguageError, normalize  # noqa: F401 (re-exported)


def shipped(app: Flask | None = None) -> tuple[str, ...]:
    """The languages a buyer can read: English, then each language with a compiled catalog."""
    app = app or current_app
    found = app.extensions.get("debrief_languages")
    if found is None:
        languages = {ENGLISH}
        for directory in get_babel(app).translation_directories:
            for mo in Path(directory).glob("*/LC_MESSAGES/messages.mo"):
                languages.add(normalize(mo.parent.parent.name) or ENGLISH)
        found = (ENGLISH, *sorted(languages - {ENGLISH}))
        app.extensions["debrief_languages"] = found
    return found


def catalog_language(tag: str | None) -> str:
    """The shipped language a tag is shown in: itself, its base language, else English."""
    if not tag:
        return ENGLISH
    languages = shipped()
    if tag in languages:
        return tag
    base = tag.split("-")[0]
    return base if base in languages else ENGLISH


def deal_language(deal: dict[str, Any], config: dict[str, Any] | None = None) -> str:
    """The tag a deal's buyer is asked in: the deal's own, else DEBRIEF_DEFAULT_LANGUAGE."""
    config = config if config is not None else current_app.config
    return deal.get("language") or config["DEFAULT_LANGUAGE"]


@cache
def _locale(tag: str) -> Locale | None:
    """Babel's CLDR data for a tag, or None when CLDR does not know the language."""
    try:
        return Locale.parse(tag, sep="-")
    except (UnknownLocaleError, ValueError):
        return None


@cache
def english_name(tag: str) -> str:
    """The language's name in English, for the team's pages: "German", "Portuguese (Brazil)"."""
    locale = _locale(tag)
    return (locale.get_display_name(ENGLISH) if locale else None) or tag


@cache
def own_name(tag: str) -> str:
    """The language's name in itself, for the buyer's switch: "Deutsch", "Français"."""
    locale = _locale(tag)
    name = (locale.get_display_name(tag.replace("-", "_")) if locale else None) or tag
    return name[:1].upper() + name[1:]


def direction(tag: str) -> str:
    """ "rtl" for a right-to-left script (Arabic, Hebrew, ...), else "ltr"."""
    locale = _locale(tag)
    return "rtl" if locale is not None and locale.text_direction == "rtl" else "ltr"


def fallback_note(tag: str | None) -> str | None:
    """For the rep: what a buyer asked in `tag` will read, when it is not that language."""
    if not tag:
        return None
    shown = catalog_language(tag)
    if shown == tag:
        return None
    if shown != ENGLISH:
        return (
            f"Debrief has no {english_name(tag)} translation: the buyer reads the mail and the "
            f"form in {english_name(shown)}."
        )
    return (
        f"Debrief has no {english_name(tag)} translation yet: the buyer reads the mail and the "
        f"form in English."
    )


def buyer_label(labels: dict[str, str], slug: str) -> str:
    """A taxonomy label (reason, outcome, verdict) in the page's language; the slug if unknown."""
    return gettext(labels[slug]) if slug in labels else slug


def buyer_options(labels: dict[str, str]) -> list[SelectChoice]:
    """Form choices with the same slugs as the team's, their labels translated when shown."""
    return taxonomy.options({slug: lazy_gettext(label) for slug, label in labels.items()})


def page_language() -> str:
    """The language of this response: the buyer's on their pages (set by the survey
    blueprint), English on every team page. Flask-Babel's locale selector."""
    return g.get("buyer_language") or ENGLISH


def set_buyer_language(tag: str | None) -> str:
    """Show this request's pages in the shipped language closest to tag (the buyer's)."""
    g.buyer_language = catalog_language(tag)
    return g.buyer_language


def chosen_language() -> str | None:
    """The language the buyer picked on the page (the `lang` button or query), if shipped."""
    picked = request.form.get("lang") or request.args.get("lang")
    try:
        tag = normalize(picked)
    except LanguageError:
        return None
    return tag if tag in shipped() else None


def current_language() -> str:
    """The language being rendered: the page's, or the one a mail is forced to (force_locale)."""
    locale = get_locale()
    return normalize(str(locale)) or ENGLISH if locale is not None else ENGLISH


def long_date(day: datetime.date) -> str:
    """A date as the current language writes it in a sentence: 7 January 2027, 7. Januar 2027."""
    return format_date(day, "d MMMM y" if current_language() == ENGLISH else "long")


def page_globals() -> dict[str, Any]:
    """`lang` and `dir` for <html>, and the languages a buyer may switch to."""
    tag = current_language()
    return {
        "page_lang": tag,
        "page_dir": direction(tag),
        "chosen_lang": g.get("chosen_language"),
        "buyer_languages": [(t, own_name(t)) for t in shipped()],
    }


def content_language(response: Response) -> Response:
    """Content-Language says the page's language (RFC 9110), as <html lang> does."""
    if response.mimetype == "text/html":
        response.headers["Content-Language"] = page_language()
    return response


def init_app(app: Flask) -> None:
    """Flask-Babel with our locale selector, trimmed {% trans %} blocks, the page globals."""
    Babel(app, locale_selector=page_language)
    # One line of msgid for a paragraph, whatever its line breaks in the template.
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.context_processor(page_globals)
    app.after_request(content_language)
