"""The search index over the entries folder: SQLite FTS5 rows derived from the files, never
the source of truth. KnowledgeBase (the package's facade) is what the app uses; this is the
engine under it: writes, sync and rebuild, reading facts; searching is its Querying part
(querying.py), noticing hand edits its Staleness part (staleness.py)."""

# SQL text here is assembled only from module constants and "?" placeholders.
# ruff: noqa: S608

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path

from markupsafe import Markup

from debrief.entries import Entry, EntryError
from debrief.index import reading, sync, writes
from debrief.index.caches import Pages, Rankings
from debrief.index.database import Database, create_tables, state
from debrief.index.facts import FACT_COLUMNS, FactCache, fact_dict
from debrief.index.meaning import Thesaurus
from debrief.index.querying import Querying, as_int
from debrief.index.results import ENTRY_COLUMNS, Hit, hit_from_row
from debrief.index.staleness import Staleness

log = logging.getLogger(__name__)


class SearchIndex(Staleness, Querying):
    """Full-text search over the entries folder, kept in a SQLite FTS5 file in the data folder."""

    def __init__(
        self,
        db_path: Path,
        entries_dir: Path,
        on_full_sync: Callable[[], None] | None = None,
        thesaurus: Thesaurus | None = None,
        themes: Callable[[], Iterable[str]] | None = None,
    ) -> None:
        """Open (and create if missing) the index; one SQLite connection per thread and process.

        on_full_sync: called in the sync thread after each periodic full sync this process did.
        thesaurus: the synonyms a query's words are searched with (None: none).
        themes: the slugs of the themes that exist, asked at each write (a hand-written file's
        tag naming one counts as that theme); None: none does.
        """
        self.db_path = Path(db_path)
        self.thesaurus = thesaurus
        self.themes = themes
        # (generation, monotonic time loaded, term -> entries using it), see vocabulary()
        self._vocabulary: tuple[str, float, dict[str, int]] | None = None
        # (state, (largest entry id, entry count)) at the last search, see Querying._size()
        self._size_at: tuple[tuple[str, int], tuple[int, int]] | None = None
        self.entries_dir = Path(entries_dir)
        self.on_full_sync = on_full_sync
        self.db = Database(self.db_path)
        self._facts = FactCache()
        self._rankings = Rankings()
        self._pages = Pages()
        self._start_staleness()
        if self.db.open():
            # Filled from the files now: new tables alone would answer every search with nothing
            # (after an upgrade, until some request happened to sync every file on its own path).
            self.rebuild()

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        self.db.close()

    # --- writing ------------------------------------------------------------------------

    def add(self, entry: Entry) -> None:
        """Add or replace one entry (by slug), recording its file's mtime and size for sync."""
        with self.db.write() as conn:
            self._add(conn, entry)

    def add_written(self, write: Callable[[], Entry]) -> Entry:
        """Write an entry file with write() and index it, one step as the staleness check sees it.

        The file is written holding the index's write lock, so a check that finds a folder
        changed can wait for the lock and look again (_folders_changed): another worker's answer
        in flight is then seen as indexed, not as a hand edit to sync (a sync of the whole current
        year folder, on the request that noticed it).
        """
        entry = None
        try:
            with self.db.write() as conn:
                entry = write()
                self._add(conn, entry)
        except sqlite3.OperationalError as exc:
            if entry is None:
                raise
            # The file, the source of truth, is in place; only its row is missing (a full disk
            # under the index). Its folder's mtime is not recorded either, so the next staleness
            # check reads it: the writer is not told "failed" for a write that happened.
            log.warning("entry %s written but not indexed yet: %s", entry.slug, exc)
        return entry

    def _add(self, conn: sqlite3.Connection, entry: Entry) -> None:
        """add() inside the caller's write transaction."""
        # Only a hand-written file has tags: every answer's entry is written without asking the
        # store for its themes.
        themes = self._themes() if entry.tags else frozenset()
        writes.upsert(conn, writes.file_row(self.entries_dir, entry, themes))
        if entry.path is not None:
            writes.record_folders(conn, self.entries_dir, Path(entry.path).parent)

    def remove(self, slug: str) -> None:
        """Remove one entry by slug (nothing happens for an unknown slug)."""
        with self.db.write() as conn:
            row = conn.execute("SELECT id FROM entry WHERE slug = ?", (slug,)).fetchone()
            if row:
                writes.delete_id(conn, row[0])

    # --- keeping up with the files ------------------------------------------------------

    def sync(self, within: list[str] | None = None) -> tuple[int, int, int, list[EntryError]]:
        """Pick up new, changed and deleted files; only changed files are parsed again.

        `within`: only these folders (relative, with their subfolders), as the cheap staleness
        check finds them; None or "." is the whole tree (a stat of every file).
        """
        todo = sync.plan(self.db.conn(), self.entries_dir, within)
        added, changed, removed = sync.apply(self.db, self.entries_dir, todo, self._themes())
        sync.record(self.db, todo)
        if todo.scope is None:
            self.synced_all()
        return added, changed, removed, self._problem_errors()

    def rebuild(self, progress: Callable[[int, int], None] | None = None) -> list[EntryError]:
        """Rebuild the whole index from the files, in one transaction (readers see old or new);
        what other processes wrote while the files were read is kept (sync.catch_up)."""
        themes, since = self._themes(), sync.mark(self.db.conn())
        rows, problems, folders = reading.read_all(self.entries_dir, progress, themes)
        with self.db.write() as conn:
            rows, problems = sync.catch_up(conn, self.entries_dir, since, rows, problems, themes)
            create_tables(conn)
            writes.insert_all(conn, rows)
            conn.executemany("INSERT INTO problem VALUES (?, ?, ?, ?)", problems)
            conn.executemany("INSERT INTO folder (path, mtime_ns) VALUES (?, ?)", folders.items())
        self.synced_all()
        return self._problem_errors()

    def _themes(self) -> frozenset[str]:
        """The slugs of the themes that exist now."""
        return frozenset(self.themes()) if self.themes else frozenset()

    def retheme(self, slugs: list[str]) -> int:
        """Index again the files with a tag among `slugs` (themes created, renamed, merged or
        deleted: such a tag starts or stops counting as a theme); how many were."""
        if not slugs:
            return 0
        marks = ", ".join("?" * len(slugs))
        rows = (
            self.db.conn()
            .execute(
                "SELECT DISTINCT e.path FROM entry_tag t JOIN entry e ON e.id = t.entry_id"
                f" WHERE t.facet = 'tag' AND t.value IN ({marks})",
                slugs,
            )
            .fetchall()
        )
        themes, done = self._themes(), 0
        for (rel,) in rows:
            path = self.entries_dir / rel
            try:
                entry = sync.parse_or_error(self.entries_dir, rel, path.stat().st_mtime_ns)
            except OSError:
                continue  # gone: the next sync drops its row
            if isinstance(entry, Entry):
                with self.db.write() as conn:
                    writes.upsert(conn, writes.file_row(self.entries_dir, entry, themes))
                done += 1
        return done

    def _problem_errors(self) -> list[EntryError]:
        """The recorded problems as EntryError objects."""
        return [EntryError(path, reason) for path, reason in self.problems()]

    # --- reading ------------------------------------------------------------------------

    def entry_count(self) -> int:
        """How many entries the index holds."""
        return self.db.conn().execute("SELECT count(*) FROM entry").fetchone()[0]

    def warnings(self) -> list[tuple[str, str]]:
        """(path, warning) of every repair made reading the indexed files (SPEC 2.4)."""
        rows = self.db.conn().execute(
            "SELECT e.path, w.message FROM warning w JOIN entry e ON e.id = w.entry_id"
            " ORDER BY e.path, w.rowid"
        )
        return [(path, message) for path, message in rows]

    def problems(self) -> list[tuple[str, str]]:
        """(path, reason) of every file skipped at the last sync or rebuild."""
        rows = self.db.conn().execute("SELECT path, reason FROM problem ORDER BY path")
        return [(path, reason) for path, reason in rows]

    def version(self) -> tuple[str, int]:
        """(generation, version): a rebuild changes the first, every write the second, whichever
        process wrote. Something computed from the index is current while this is unchanged."""
        return self.db.version()

    def path_of(self, slug: str) -> Path | None:
        """The file an indexed slug was read from (None when the index has no such slug)."""
        row = self.db.conn().execute("SELECT path FROM entry WHERE slug = ?", (slug,)).fetchone()
        return self.entries_dir / row[0] if row else None

    def facts(self, *, deal: int | None = None) -> list[dict]:
        """Header facts of every entry (or one deal's), newest first, for the dashboard."""
        if deal is not None:
            rows = self.db.conn().execute(
                f"SELECT {FACT_COLUMNS} FROM entry WHERE deal = ? ORDER BY date DESC, id DESC",
                (as_int(deal, -1),),
            )
            return [fact_dict(row) for row in rows]
        with self.db.read() as conn:
            generation, _ = state(conn)
            facts = self._facts.refresh(conn, generation)
            order = "SELECT id, slug FROM entry ORDER BY date DESC, id DESC"
            return [facts.as_dict(i, slug) for i, slug in conn.execute(order)]

    def slug_deals(self, kind: str) -> list[tuple[str, int | None]]:
        """(slug, deal) of every entry of a kind."""
        rows = self.db.conn().execute("SELECT slug, deal FROM entry WHERE kind = ?", (kind,))
        return [(slug, deal) for slug, deal in rows]

    def deal_hits(self, deal: int) -> list[Hit]:
        """Every entry tied to one deal, newest first, as hits without snippets (on an index)."""
        rows = self.db.conn().execute(
            f"SELECT {ENTRY_COLUMNS} FROM entry WHERE deal = ? ORDER BY date DESC, id DESC",
            (as_int(deal, -1),),
        )
        return [hit_from_row(row, Markup("")) for row in rows]
