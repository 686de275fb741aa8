"""Themes: create, describe, rename, merge, delete, and tag entries (their `Themes:` header).

A theme is a record in the `themes` table (slug, name, description, created) and a slug in the
`Themes:` header of every entry tagged with it. Entry files are the source of truth and are only
rewritten through kb.service.update, so the search index follows each change at once.

Order of writes: entries first, then the theme record. If the process dies half way, running
the same rename, merge or delete again finishes the job (the old record is still there).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app

from debrief.entries import slugify
from debrief.files import file_lock
from debrief.index import Results, get_kb
from debrief.index.facts import Filters
from debrief.kb import service as kb
from debrief.store import Store, stamp

NAME_MAX = 80
DESCRIPTION_MAX = 2000
PAGE = 100  # entries per index page while collecting a theme's entries
# Slugs that are pages under /themes/, so no theme page could ever be reached at them.
RESERVED = frozenset({"new", "tag", "untag", "tag-search", "suggestions", "discover", "synonyms"})


class ThemeError(ValueError):
    """A theme change that cannot be made; the message says why, in the user's words."""


@dataclass(frozen=True)
class SearchParams(Filters):
    """The knowledge-base search whose results are tagged at once: the /kb words and filters."""

    q: str = ""

    def query_args(self) -> dict[str, Any]:
        """Keyword arguments for KnowledgeBase.search."""
        return {k: (v or None) for k, v in vars(self).items() if k != "q"} | {"q": self.q or ""}


def _themes(store: Store):
    return store.table("themes")


@contextmanager
def _entries_lock() -> Iterator[None]:
    """One theme change at a time across threads and worker processes (read-modify-write)."""
    with file_lock(Path(current_app.config["DATA_DIR"]) / "themes.lock"):
        yield


# --- reading ------------------------------------------------------------------------------------


def get_theme(store: Store, slug: str) -> dict[str, Any] | None:
    """The theme with that slug, or None."""
    return _themes(store).find_one("slug", slug) if slug else None


def theme_names(store: Store) -> dict[str, str]:
    """slug -> name of every theme, by name."""
    return {
        t["slug"]: t["name"] for t in sorted(_themes(store).all(), key=lambda t: t["name"].lower())
    }


def theme_counts() -> dict[str, int]:
    """slug -> how many entries carry it, from the index (no file reads)."""
    knowledge = get_kb()
    return dict(knowledge.search(per_page=1).facets.get("theme", []))


def list_themes(store: Store) -> tuple[list[dict[str, Any]], list[tuple[str, int]]]:
    """Every theme with its entry count, and tags found in entries that are no theme yet."""
    counts = theme_counts()
    themes = sorted(_themes(store).all(), key=lambda t: t["name"].lower())
    for theme in themes:
        if theme["slug"] not in counts:  # past the facet limit, or unused
            counts[theme["slug"]] = get_kb().search(theme=theme["slug"], per_page=1).total
    known = {t["slug"] for t in themes}
    listed = [{**t, "count": counts.get(t["slug"], 0)} for t in themes]
    strays = [(slug, n) for slug, n in counts.items() if slug not in known and n]
    return listed, strays


def search(params: SearchParams, page: int, per_page: int) -> Results:
    """One page of what a search finds (a theme's page, the tag-search preview)."""
    query = {k: v for k, v in params.query_args().items() if v}
    return get_kb().search(**query, page=page, per_page=per_page)


def entries_with_theme(theme: str) -> list[str]:
    """Slugs of every entry the index lists under a theme."""
    return collect(SearchParams(theme=theme))


def collect(params: SearchParams) -> list[str]:
    """Slugs of every result of a search with every word, all pages: the entries with some of
    the words, which the page lists after them marked as such, are not "the results"."""
    knowledge = get_kb()
    slugs: list[str] = []
    page = 1
    while True:
        results = knowledge.search(**params.query_args(), page=page, per_page=PAGE)
        slugs += [hit.slug for hit in results.hits if not hit.partial]
        if page * PAGE >= results.full or not results.hits:
            return list(dict.fromkeys(slugs))
        page += 1


# --- theme records ------------------------------------------------------------------------------


def _clean(name: str, description: str) -> tuple[str, str, str]:
    """Name, slug and description checked; ThemeError says what to fix."""
    name = " ".join((name or "").split())
    description = (description or "").strip()
    slug = slugify(name)
    if not slug:
        raise ThemeError("Give the theme a name with at least one letter or digit.")
    if slug in RESERVED:
        raise ThemeError(f"'{name}' is the name of a page here: choose another name.")
    if len(name) > NAME_MAX:
        raise ThemeError(f"Keep the name under {NAME_MAX} characters.")
    if len(description) > DESCRIPTION_MAX:
        raise ThemeError(f"Keep the description under {DESCRIPTION_MAX} characters.")
    return name, slug, description


def create_theme(store: Store, name: str, description: str = "") -> dict[str, Any]:
    """A new theme; ThemeError when the name is empty or its slug is taken."""
    name, slug, description = _clean(name, description)
    record = {
        "slug": slug,
        "name": name,
        "description": description,
        "created": stamp(),
    }
    theme_id, created = _themes(store).insert_unique(record, "slug")
    if not created:
        raise ThemeError(f"A theme called '{name}' exists already.")
    get_kb().themes_changed([slug])  # a hand-written file's tag of that name is now the theme
    return {**record, "id": theme_id}


def edit_theme(store: Store, slug: str, name: str, description: str) -> dict[str, Any]:
    """Rename and/or describe a theme; a new slug is written into every tagged entry."""
    theme = _require(store, slug)
    name, new_slug, description = _clean(name, description)
    if new_slug != slug and get_theme(store, new_slug) is not None:
        raise ThemeError(f"A theme called '{name}' exists already: merge into it instead.")
    if new_slug != slug:
        _retag_all(slug, new_slug)
    changed = _themes(store).update(
        theme["id"], {"slug": new_slug, "name": name, "description": description}
    )
    if changed is None:
        raise ThemeError("That theme was deleted meanwhile.")
    get_kb().themes_changed([slug, new_slug] if new_slug != slug else [])
    return changed


def merge_themes(store: Store, source: str, target: str) -> int:
    """Move every entry of `source` to `target` (no duplicates), then delete `source`."""
    theme = _require(store, source)
    _require(store, target)
    if source == target:
        raise ThemeError("Choose another theme to merge into.")
    moved = _retag_all(source, target)
    _themes(store).remove(theme["id"])
    get_kb().themes_changed([source])  # a tag naming it is a tag again
    return moved


def delete_theme(store: Store, slug: str) -> int:
    """Untag every entry, then delete the theme; returns how many entries changed."""
    theme = _require(store, slug)
    changed = _retag_all(slug, None)
    _themes(store).remove(theme["id"])
    get_kb().themes_changed([slug])
    return changed


def _require(store: Store, slug: str) -> dict[str, Any]:
    """The theme or ThemeError."""
    theme = get_theme(store, slug)
    if theme is None:
        raise ThemeError(f"There is no theme '{slug}'.")
    return theme


# --- entries ------------------------------------------------------------------------------------


def _swap(themes: list[str], old: str, new: str | None) -> list[str]:
    """The theme list with old replaced by new in place (or removed), without duplicates."""
    out = [new if t == old else t for t in themes]
    return list(dict.fromkeys(t for t in out if t))


def _rewrite(entry_slug: str, change) -> bool:
    """Apply change(themes) -> themes to one entry file; False when nothing changed."""
    entry = kb.load(entry_slug)
    if entry is None:
        raise ThemeError(f"There is no entry '{entry_slug}' (or its file cannot be read).")
    themes = change(list(entry.themes))
    if themes == entry.themes:
        return False
    kb.update(replace(entry, themes=themes))
    return True


def _retag_all(old: str, new: str | None) -> int:
    """Replace (or drop) one theme in every entry that has it; returns how many changed."""
    changed = 0
    with _entries_lock():
        for entry_slug in entries_with_theme(old):
            try:
                changed += _rewrite(entry_slug, lambda t: _swap(t, old, new))
            except ThemeError:
                continue  # a file removed or broken since the index saw it: nothing to rewrite
    return changed


def tag_entry(store: Store, entry_slug: str, theme: str) -> bool:
    """Tag one entry; False when it had the theme already."""
    _require(store, theme)
    with _entries_lock():
        return _rewrite(entry_slug, lambda t: t if theme in t else [*t, theme])


def untag_entry(store: Store, entry_slug: str, theme: str) -> bool:
    """Remove a theme from one entry; False when it did not have it."""
    with _entries_lock():
        return _rewrite(entry_slug, lambda t: _swap(t, theme, None))


def tag_search(store: Store, params: SearchParams, theme: str) -> tuple[int, int]:
    """Tag every result of a search (all pages): (entries newly tagged, results in all)."""
    _require(store, theme)
    slugs = collect(params)
    return tag_entries(store, slugs, theme), len(slugs)


def tag_entries(store: Store, slugs: list[str], theme: str) -> int:
    """Tag every entry of a list (files rewritten, index following); how many were newly tagged."""
    _require(store, theme)
    tagged = 0
    with _entries_lock():
        for entry_slug in slugs:
            try:
                tagged += _rewrite(entry_slug, lambda t: t if theme in t else [*t, theme])
            except ThemeError:
                continue  # a file removed or broken since the index saw it
    return tagged


def create_and_tag(
    store: Store, name: str, slugs: list[str], description: str = ""
) -> tuple[dict[str, Any], int]:
    """A new theme with every listed entry tagged with it: (the theme, entries tagged)."""
    theme = create_theme(store, name, description)
    return theme, tag_entries(store, slugs, theme["slug"])


def theme_months(slug: str, today: datetime | None = None) -> tuple[list[str], list[int], int]:
    """A theme's entries per month for the last 12 months, and how many are older."""
    import calendar

    from debrief.themes.stats import last_months

    months = last_months((today or datetime.now(UTC)).date())
    knowledge = get_kb()
    # One counting query per month: the index answers each from its header facts, so the
    # cost follows the theme's size, not the whole knowledge base's.
    counts = []
    for month in months:
        year, number = int(month[:4]), int(month[5:])
        last = calendar.monthrange(year, number)[1]
        found = knowledge.search(theme=slug, date_from=f"{month}-01", date_to=f"{month}-{last:02d}",
                            per_page=1)  # fmt: skip
        counts.append(found.total)
    first = datetime.fromisoformat(months[0] + "-01").date()
    before = (first - timedelta(days=1)).isoformat()
    older = knowledge.search(theme=slug, date_to=before, per_page=1).total
    return months, counts, older
