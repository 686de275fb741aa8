"""Template helpers shared by every page."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Flask, current_app, g, request, url_for
from markupsafe import Markup

from debrief import i18n, taxonomy
from debrief.deals.amount import format_amount
from debrief.lru import LRU

_options = LRU(256)  # rendered option lists of radio and checkbox groups (options_html)


def init_app(app: Flask) -> None:
    """Make the taxonomy labels and helpers available to every template."""
    app.jinja_env.globals.update(
        REASONS=taxonomy.REASONS,
        OUTCOMES=taxonomy.OUTCOMES,
        CLAIM_VERDICTS=taxonomy.CLAIM_VERDICTS,
        buyer_label=i18n.buyer_label,
        language_name=i18n.english_name,
        deal_language=i18n.deal_language,
        language_fallback=i18n.fallback_note,
        reason_label=taxonomy.reason_label,
        outcome_label=taxonomy.outcome_label,
        verdict_label=taxonomy.verdict_label,
        has_endpoint=has_endpoint,
        is_current=is_current,
        options_html=options_html,
        entry_url=entry_url,
        theme_url=theme_url,
    )
    app.jinja_env.filters["amount"] = amount


def amount(value: float | None) -> str:
    """A deal value as people write it: 12,500 or 1,200.50; a dash for none."""
    return "—" if value is None else format_amount(value)


def entry_url(slug: str) -> str:
    """The address of a knowledge-base entry, its slug quoted (a file added by hand may be
    called "Notes #1.md"). One url_for per request: a results page links ~20 entries."""
    return _url_base("entry_url_base", "kb.entry", slug="x") + quote(slug, safe="")


def theme_url(theme: str) -> str:
    """/kb filtered by a theme: a results page links each hit's themes (one url_for a request)."""
    return _url_base("theme_url_base", "kb.index", theme="x") + quote(theme, safe="")


def _url_base(name: str, endpoint: str, **values: str) -> str:
    """url_for(endpoint, **values) without its last character ("x"), once per request."""
    base = g.get(name)
    if base is None:
        base = url_for(endpoint, **values)[:-1]
        setattr(g, name, base)
    return base


def has_endpoint(name: str) -> bool:
    """Whether a view exists, so the menu shows only features that are installed."""
    return name in current_app.view_functions


def is_current(endpoint: str) -> bool:
    """Whether a menu item's page is the one shown: its view and this one share a module.

    By module, not by blueprint: the dashboard's views (themes/dashboard_views.py) sit in the
    themes blueprint, and both Themes and Dashboard were marked as the current page.
    """
    views = current_app.view_functions
    shown = views.get(request.endpoint or "")
    item = views.get(endpoint)
    return shown is not None and item is not None and shown.__module__ == item.__module__


def options_html(field: Any) -> Markup:
    """A radio or checkbox group's options (input, then label), rendered once per state.

    WTForms builds a field object for every option it renders: the buyer's form, with its many
    options, spent a noticeable part of each view on them. The HTML is kept, keyed by all
    it is made of: the field's id, name, type, flags, render_kw and each choice with its state.
    """
    choices = tuple(
        (value, str(label), bool(selected), repr(rest))
        for value, label, selected, *rest in field.iter_choices()
    )
    key = (
        field.id,
        field.name,
        field.type,
        repr(sorted(vars(field.flags).items())),
        repr(field.render_kw),
        choices,
    )
    html = _options.get(key)
    if html is None:
        html = Markup("\n").join(
            Markup('<div class="option">{} {}</div>').format(option(), option.label)
            for option in field
        )
        _options.put(key, html)
    return html
