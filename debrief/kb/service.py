"""The knowledge base seen from the app: one search index per process, and publishing entries.

Every writer of entries (the survey, lessons, themes) goes through publish()/update()
here, so the file is written by entries.py and the index follows it at once.
"""

from __future__ import annotations

from pathlib import Path

from flask import current_app

from debrief import entries
from debrief.index import SearchIndex


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
