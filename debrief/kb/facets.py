"""The facet column of /kb: rendered once per result set and filter state, then reused.

The column holds ~60 links (one per facet value, each the current search with one filter
changed), a large share of a results page's time. The same search is asked again and again
(its next pages, other people, a page reloaded), so the HTML is kept, keyed by everything it is
made of: the facet counts, the search's parameters and the versions of the tables the labels
come from (account, theme and competitor names).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import render_template
from markupsafe import Markup

from debrief.kb.service import labels_key
from debrief.lru import LRU

_columns = LRU(256)  # a few KB each


def column(
    facets: dict[str, list[tuple[str, int]]],
    filters: dict[str, str],
    args: dict[str, str],
    label: Callable[[str, str], str],
    estimated: bool = False,
) -> Markup:
    """The <aside> of facet links for these counts and this search (page left out of `args`);
    estimated: the counts are estimates (a broad search's, from its newest matches)."""
    key = (
        estimated,
        tuple((facet, tuple(values)) for facet, values in facets.items()),
        tuple(sorted(filters.items())),
        tuple(sorted(args.items())),
        labels_key(),
    )
    html = _columns.get(key)
    if html is None:
        rendered = render_template(
            "kb/_facets.html", facets=facets, filters=filters, label=label, estimated=estimated
        )
        html = Markup(rendered)  # noqa: S704 - a template's output, escaped by Jinja itself
        _columns.put(key, html)
    return html
