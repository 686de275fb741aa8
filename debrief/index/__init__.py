"""The knowledge-base engine, no Flask at import time: the entry files and the index over them.

KnowledgeBase is the one way in: publish, update, remove, read, search, entries_for_deal,
facts, untagged, counts, problems, synonym_problems, sync, rebuild, version, entries_key. The
app registers it with init_app(app) and reaches it with get_kb(). Inside: database (schema,
connections, transactions), writes (rows), sync (plan, apply, record), staleness (noticing hand
edits), search (ranking in tiers, snippets, facets), caches, facts, counts; engine.SearchIndex
puts them together.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from debrief import entries
from debrief.entries import Entry, EntryError
from debrief.index import counts, meaning
from debrief.index.caches import EntryCountsCache
from debrief.index.counts import Scope
from debrief.index.database import SCHEMA_VERSION
from debrief.index.engine import SearchIndex
from debrief.index.entry_counts import CACHE_FILE, EntryCounts
from debrief.index.meaning import LINE_MAX as SYNONYM_LINE_MAX
from debrief.index.meaning import MAX_QUERY_CHARS as QUERY_MAX
from debrief.index.meaning import SHIPPED as SHIPPED_SYNONYMS
from debrief.index.meaning import SynonymError, Thesaurus
from debrief.index.meaning import parse_line as parse_synonym_line
from debrief.index.results import Hit, Results

__all__ = [
    "IndexWriteError",
    "QUERY_MAX",
    "SCHEMA_VERSION",
    "SHIPPED_SYNONYMS",
    "SYNONYM_LINE_MAX",
    "SynonymError",
    "Thesaurus",
    "parse_synonym_line",
    "synonyms_path",
    "Hit",
    "EntryCounts",
    "KnowledgeBase",
    "Results",
    "Scope",
    "SearchIndex",
    "after_full_sync",
    "get_kb",
    "init_app",
]

_KB, _JOBS = "debrief.kb", "debrief.kb.after_full_sync"

# What a write through the facade (publish, update, remove) may raise besides OSError: SQLite's
# own error when the index's disk refuses a write or its lock is held too long. Callers that must
# not fail (an answer whose entry then stays owed) catch this name, not sqlite3's.
IndexWriteError = sqlite3.OperationalError


class KnowledgeBase:
    """The entry files of one folder and the search index that follows them."""

    def __init__(
        self,
        db_path: Path,
        entries_dir: Path,
        on_full_sync: Callable[[], None] | None = None,
        thesaurus: Thesaurus | None = None,
        themes: Callable[[], Iterable[str]] | None = None,
    ) -> None:
        """Open the index at db_path over entries_dir (built from the files when new); search
        uses the thesaurus's synonyms (None: none); themes() gives the slugs of the themes that
        exist, which a hand-written file's tags count as (None: tags stay tags)."""
        self.entries_dir = Path(entries_dir)
        self.index = SearchIndex(
            db_path, self.entries_dir, on_full_sync=on_full_sync, thesaurus=thesaurus,
            themes=themes,
        )  # fmt: skip
        self._counts = EntryCountsCache(Path(db_path).parent / CACHE_FILE)

    def publish(self, entry: Entry, same: Callable[[Entry], bool] | None = None) -> Entry:
        """Write a new entry file and index it; with `same`, not again if already written.

        The file is written holding the index's write lock (add_written), which every process
        shares: the check for an earlier copy (entries.write_entry) and the write are one step.
        """
        return self.index.add_written(lambda: entries.write_entry(self.entries_dir, entry, same))

    def update(self, entry: Entry) -> Entry:
        """Rewrite an existing entry file and re-index it."""
        return self.index.add_written(lambda: entries.save_entry(entry))

    def remove(self, entry: Entry) -> None:
        """Delete an entry's file and its row in the index (a file already gone is no error)."""
        if entry.path is not None:
            Path(entry.path).unlink(missing_ok=True)
        self.index.remove(entry.slug)

    def themes_changed(self, slugs: list[str]) -> int:
        """Themes with these slugs were created, renamed, merged or deleted: the files whose tags
        name one are indexed again (a tag counts as a theme while one exists); how many were."""
        return self.index.retheme([s for s in slugs if s])

    def locate(self, slug: str) -> Path | None:
        """The file of a slug: where entries are written (the year folders, one level down),
        else where the index found it; never a walk of the whole tree."""
        path = entries.find_entry(self.entries_dir, slug, deep=False)
        if path is None and slug and len(slug) <= 200:
            # A file added by hand may have any name ("Notes #1.md"): its slug is its name, and
            # the index only records files its scan found inside the folder, symlinks left out.
            indexed = self.index.path_of(slug)
            if indexed is not None and indexed.is_file() and not indexed.is_symlink():
                path = indexed if entries.inside(self.entries_dir, indexed) else None
        return path

    def read(self, slug: str) -> Entry | EntryError | None:
        """The entry with that slug, the reason its file cannot be read, or None if none."""
        path = self.locate(slug)
        if path is None:
            return None
        try:
            return entries.read_entry(path)
        except EntryError as exc:
            return exc

    def search(self, q: str = "", **filters: Any) -> Results:
        """One page of results (SearchIndex.query's filters, paging and `typed`), files changed
        by hand picked up first."""
        self.index.sync_if_stale()
        return self.index.query(q, **filters)

    def entries_for_deal(self, deal_id: int) -> list[Hit]:
        """Every entry tied to one deal, newest first (hits without snippets)."""
        return self.index.deal_hits(deal_id)

    def facts(self) -> list[dict]:
        """Header facts of every entry, newest first, files changed by hand picked up first."""
        self.index.sync_if_stale()
        return self.index.facts()

    def slug_deals(self, kind: str) -> list[tuple[str, int | None]]:
        """(slug, deal) of every entry of a kind, as indexed (no file is read), files changed by
        hand picked up first."""
        self.index.sync_if_stale()
        return self.index.slug_deals(kind)

    def untagged(self, limit: int, with_tagged: bool = False) -> tuple[list[Entry], int]:
        """The entries with no theme (every entry, with_tagged), newest first, at most `limit`,
        and how many there are in all, as indexed (sync_if_stale() first for files changed by
        hand). A file that cannot be read is left out (it is listed by problems()).
        """
        pool = [f["slug"] for f in self.index.facts() if with_tagged or not f["themes"]]
        found = []
        for slug in pool[:limit]:
            entry = self.read(slug)
            if isinstance(entry, Entry):
                found.append(entry)
        return found, len(pool)

    def entries_key(self) -> tuple[str, int, int]:
        """What changes when an entry is added, edited or removed, or the index rebuilt (unlike
        version(), not on a write that changes no entry): for results computed from entries."""
        return counts.id_range(self.index.db)

    def synonym_problems(self) -> list[str]:
        """The lines of the synonym lists that search leaves out, and why."""
        thesaurus = self.index.thesaurus
        return thesaurus.report() if thesaurus else []

    def counts(self, scope: Scope) -> EntryCounts:
        """The dashboard's entry counts of a scope (dates, rep, calendar), as of now."""
        return self._counts.get(self.index.db, scope)

    def entry_count(self) -> int:
        """How many entries are searchable."""
        return self.index.entry_count()

    def problems(self) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """(path, reason) of every file left out of search, and (path, warning) of every repair
        made reading a hand-written file (SPEC 2.4), as of a fresh look."""
        self.index.sync_if_stale()
        return self.index.problems(), self.index.warnings()

    def sync_if_stale(self, max_age: float = 2.0) -> None:
        """Pick up files changed by hand when a folder changed (looked at every max_age s)."""
        self.index.sync_if_stale(max_age)

    def sync(self) -> tuple[int, int, int, list[EntryError]]:
        """Pick up every file added, changed or removed: (added, changed, removed, problems)."""
        return self.index.sync()

    def rebuild(self, progress: Callable[[int, int], None] | None = None) -> list[EntryError]:
        """Build the index anew from the files; progress(done, total) is called as it reads."""
        return self.index.rebuild(progress)

    def close(self) -> None:
        """Close this thread's connection to the index (others close with their thread)."""
        self.index.close()

    def version(self) -> tuple[str, int]:
        """(generation, version) of the index: whatever was computed from it is current while
        this is unchanged (a rebuild changes the first, every write of any process the second)."""
        return self.index.version()


def init_app(app: Any) -> None:
    """Register the knowledge base with the app; it is opened on first use (get_kb)."""
    app.extensions[_KB] = None
    app.extensions.setdefault(_JOBS, [])


def get_kb() -> KnowledgeBase:
    """The app's knowledge base over <DATA_DIR>/index.sqlite and ENTRIES_DIR."""
    from flask import current_app  # here, so the engine imports without Flask

    ext = current_app.extensions
    kb = ext[_KB]  # KeyError: init_app was not called
    if kb is None:
        from debrief.store import get_store

        app = current_app._get_current_object()  # the hook runs in the index's own thread
        store = get_store()  # held, not looked up: writes happen in the sync thread too
        kb = ext[_KB] = KnowledgeBase(
            Path(app.config["DATA_DIR"]) / "index.sqlite",
            Path(app.config["ENTRIES_DIR"]),
            on_full_sync=lambda: _after_full_sync(app),
            thesaurus=Thesaurus(app.config.get("SYNONYMS_FILE"), synonyms_path(app.config)),
            themes=lambda: _theme_slugs(store),
        )
    return kb


def _theme_slugs(store: Any) -> list[str]:
    """The slugs of the theme records (none before the first theme is made)."""
    return [t["slug"] for t in store.table("themes").all()] if store.has_table("themes") else []


def synonyms_path(config: Any) -> Path:
    """The managers' synonym lines, in the data folder (the shipped list is SYNONYMS_FILE)."""
    return Path(config["DATA_DIR"]) / meaning.ADDED


def after_full_sync(app: Any, job: Callable[[], object]) -> None:
    """Run job() in an app context after each periodic full look at the entries folder.

    For catching up with writes that failed (the answers' entries owed after a full disk):
    features register here, so the engine does not depend on them.
    """
    app.extensions.setdefault(_JOBS, []).append(job)


def _after_full_sync(app: Any) -> None:
    """The jobs registered with after_full_sync (called in the index's sync thread)."""
    with app.app_context():
        for job in app.extensions.get(_JOBS, []):
            job()
