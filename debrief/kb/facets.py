"""The facet column of /kb: rendered once per result set and filter state, then reused.

The column holds ~60 links (one per facet value, each the current search with one filter
changed), a large share of a results page's time. The same search is asked again and again
(its next pages, other people, a page reloaded), so the HTML is kept, keyed by everything it is
made of: the facet counts, the search's parameters and the versions of the tables the labels
come from (account, theme and competitor names).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from flask import render_template
from markupsafe import Markup

from debrief.kb.service import labels_key
from debrief.lru import LRU

_columns = LRU(256)  # a few KB each
# A longer column comes from a very long query or filter (each of its ~60 links repeats them):
# it is rendered again when asked for rather than kept, so 256 of them cannot take the memory.
KEPT_MAX = 32_768
HEADINGS = (("kind", "Kind"), ("theme", "Theme"), ("reason", "Reason"),
            ("competitor", "Competitor"), ("rep", "Rep"))  # fmt: skip


class Link(NamedTuple):
    """One facet value's link: the search with this filter set (or, when active, removed)."""

    href: str
    text: str  # the value's label
    count: str  # with thousands separators
    active: bool


def column(
    facets: dict[str, list[tuple[str, int]]],
    filters: dict[str, str],
    args: dict[str, str],
    label: Callable[[str, str], str],
    link: Callable[[dict[str, str | None]], str],
    estimated: bool = False,
) -> Markup:
    """The <aside> of facet links for these counts and this search (page left out of `args`).

    link: a /kb address of the current search with some parameters changed (kb_url);
    estimated: the counts are estimates (a broad search's, from its newest matches).
    """
    key = (
        estimated,
        tuple((facet, tuple(values)) for facet, values in facets.items()),
        tuple(sorted(filters.items())),
        tuple(sorted(args.items())),
        labels_key(),
    )
    html = _columns.get(key)
    if html is None:
        # The links are made here, not by the template: a template expression per link took
        # most of the column's time.
        groups = [
            (heading, [_link(facet, value, count, filters, label, link)
                       for value, count in facets[facet]])
            for facet, heading in HEADINGS
            if facets.get(facet)
        ]  # fmt: skip
        rendered = render_template("kb/_facets.html", groups=groups, estimated=estimated)
        html = Markup(rendered)  # noqa: S704 - a template's output, escaped by Jinja itself
        if len(html) <= KEPT_MAX:
            _columns.put(key, html)
    return html


def _link(
    facet: str,
    value: str,
    count: int,
    filters: dict[str, str],
    label: Callable[[str, str], str],
    link: Callable[[dict[str, str | None]], str],
) -> Link:
    """The Link of one facet value: selecting it filters by it, selecting it again removes it."""
    active = filters.get(facet) == value
    return Link(link({facet: None if active else value}), label(facet, value), f"{count:,}", active)
