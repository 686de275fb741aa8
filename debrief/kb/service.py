"""The knowledge base seen from the app: one search index per process, and publishing entries.

Every writer of entries (the survey, lessons, themes) goes through publish()/update()
here, so the file is written by entries.py and the index follows it at once.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import IO

from flask import current_app

from debrief import entries, taxonomy
from debrief.auth import users
from debrief.index import Results, SearchIndex
from debrief.store import get_store


def get_index() -> SearchIndex:
    """The app's search index over <DATA_DIR>/index.sqlite, created on first use."""
    ext = current_app.extensions
    if "debrief.index" not in ext:
        ext["debrief.index"] = SearchIndex(
            Path(current_app.config["DATA_DIR"]) / "index.sqlite",
            Path(current_app.config["ENTRIES_DIR"]),
        )
    return ext["debrief.index"]


def entries_dir() -> Path:
    """The folder of entry files."""
    return Path(current_app.config["ENTRIES_DIR"])


def publish(entry: entries.Entry) -> entries.Entry:
    """Write a new entry file and index it."""
    written = entries.write_entry(entries_dir(), entry)
    get_index().add(written)
    return written


def update(entry: entries.Entry) -> entries.Entry:
    """Rewrite an existing entry file and re-index it."""
    saved = entries.save_entry(entry)
    get_index().add(saved)
    return saved


def load(slug: str) -> entries.Entry | None:
    """The entry with that slug, or None (missing, or a file broken by hand)."""
    path = entries.find_entry(entries_dir(), slug)
    if path is None:
        return None
    try:
        return entries.read_entry(path)
    except entries.EntryError:
        return None


def read(slug: str) -> entries.Entry | entries.EntryError | None:
    """The entry with that slug, the reason its file cannot be read, or None when there is none."""
    path = entries.find_entry(entries_dir(), slug)
    if path is None:
        return None
    try:
        return entries.read_entry(path)
    except entries.EntryError as exc:
        return exc


def search(
    q: str, filters: dict[str, str], date_from: str | None, date_to: str | None, page: int
) -> Results:
    """One page of results for the /kb query, after picking up files changed by hand."""
    index = get_index()
    index.sync_if_stale()
    return index.query(q, date_from=date_from, date_to=date_to, page=page, **filters)


def problems() -> list[tuple[str, str]]:
    """(path, reason) of every entry file the index had to skip, as of a fresh look."""
    index = get_index()
    index.sync_if_stale()
    return index.problems()


def deal_entries(deal_id: int) -> list[dict]:
    """Header facts of every entry tied to a deal (its debrief and its lessons), newest first."""
    # facts() is one table scan with no file reads; the index has no per-deal filter to use.
    return [fact for fact in get_index().facts() if fact["deal"] == deal_id]


def related(entry: entries.Entry) -> tuple[list[entries.Entry], str | None]:
    """For an entry tied to a deal: the deal's other lessons and its debrief's slug."""
    if entry.deal is None:
        return [], None
    lessons, debrief = [], None
    for fact in deal_entries(entry.deal):
        if fact["slug"] == entry.slug:
            continue
        if fact["kind"] == "debrief" and debrief is None:
            debrief = fact["slug"]
        elif fact["kind"] == "lesson":
            lesson = load(fact["slug"])
            if lesson is not None:
                lessons.append(lesson)
    return lessons, debrief


def labeller() -> Callable[[str, str], str]:
    """A function giving the label a person reads for a facet value (names, not emails or slugs)."""
    store = get_store()
    names = {u["email"].lower(): u["name"] for u in users.list_users(store)}
    themes = {t.get("slug"): t.get("name") for t in store.table("themes").all()}
    kinds = {"debrief": "Debrief", "lesson": "Lesson"}

    def label(facet: str, value: str) -> str:
        if facet == "kind":
            return kinds.get(value, value)
        if facet == "reason":
            return taxonomy.reason_label(value)
        if facet == "theme":
            return themes.get(value) or value
        if facet == "rep":
            return names.get(str(value).lower(), value)
        if facet == "outcome":
            return taxonomy.outcome_label(value)
        return value

    return label


def export(out: IO[bytes]) -> tuple[int, int]:
    """Write the export zip to a binary file; returns (entry files, answers) written."""
    from debrief.kb.export import write_zip

    answers = get_store().table("answers").all()
    return write_zip(out, entries_dir(), answers), len(answers)
