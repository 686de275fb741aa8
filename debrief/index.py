"""The SQLite FTS5 search index over the entry files: derived data, never the source of truth."""

# SQL text here is assembled only from module constants, column names chosen in code and "?"
# placeholders; every value that comes from a user or a file is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import logging
import os
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from markupsafe import Markup

from debrief import meaning
from debrief.entries import Entry, EntryError, parse_entry, plain_text, slugify
from debrief.facts import FACT_COLUMNS, FactCache, Filters, fact_from_row
from debrief.lru import LRU
from debrief.meaning import Plan, Thesaurus
from debrief.search import (
    ENTRY_COLUMNS,
    Hit,
    Ranking,
    Results,
    advance,
    empty_facets,
    hit_from_row,
    page_hits,
    rank_browse,
    rank_search,
    strip_marks,
)

__all__ = ["Hit", "Results", "SearchIndex"]

log = logging.getLogger(__name__)

SCHEMA_VERSION = 4  # 4: word forms (porter) in fts, the words as typed in fts_exact
BATCH = 2000  # rows per write transaction in sync: keeps other writers' waits short
FULL_SYNC_EVERY = 30.0  # seconds; catches in-place edits that do not touch a folder's mtime
CACHE_SIZE = 64  # rankings kept per process, keyed by the index version
VOCABULARY_AGE = 300.0  # seconds a loaded vocabulary serves "did you mean" (see vocabulary())
_SCHEMA = """
CREATE TABLE entry(
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: facts.py relies on it
    slug TEXT NOT NULL UNIQUE,
    path TEXT NOT NULL,
    mtime_ns INTEGER NOT NULL,
    size INTEGER NOT NULL,
    title TEXT NOT NULL,
    date TEXT NOT NULL,
    kind TEXT NOT NULL,
    rep TEXT,
    competitor TEXT,
    outcome TEXT,
    themes TEXT NOT NULL,
    prospect_reasons TEXT NOT NULL,
    rep_reasons TEXT NOT NULL,
    trust INTEGER,
    deal INTEGER
);
CREATE INDEX entry_date ON entry(date, id);
CREATE INDEX entry_path ON entry(path);
CREATE INDEX entry_kind ON entry(kind);
CREATE INDEX entry_competitor ON entry(competitor);
CREATE INDEX entry_rep ON entry(rep);
CREATE INDEX entry_deal ON entry(deal);
CREATE TABLE entry_tag(
    entry_id INTEGER NOT NULL,
    facet TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (entry_id, facet, value)
) WITHOUT ROWID;
CREATE INDEX entry_tag_value ON entry_tag(facet, value, entry_id);
CREATE VIRTUAL TABLE fts USING fts5(
    title, body, competitor, reasons, themes,
    tokenize = '%s', prefix = '2 3'
);
-- The words as typed, for ranking exact words first and the "did you mean" vocabulary:
-- contentless (fts holds the text), so a row leaves through the 'delete' command.
CREATE VIRTUAL TABLE fts_exact USING fts5(
    title, body, competitor, reasons, themes,
    tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3', content = ''
);
CREATE VIRTUAL TABLE fts_exact_vocab USING fts5vocab(fts_exact, row);
CREATE TABLE problem(path TEXT PRIMARY KEY, reason TEXT NOT NULL, mtime_ns INTEGER, size INTEGER);
CREATE TABLE folder(path TEXT PRIMARY KEY, mtime_ns INTEGER NOT NULL);
CREATE TABLE state(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
""".replace("%s", meaning.TOKENIZER)  # word forms: porter over the unicode61 of fts_exact
_MAIN = "substr({0}, 1, instr({0} || ',', ',') - 1)"  # up to the first comma
# The groupable columns of SearchIndex.count_by: name -> SQL expression (constants only).
COUNT_COLUMNS = {
    "month": "substr(date, 1, 7)",
    "kind": "kind",
    "rep": "rep",
    "competitor": "competitor",
    "themes": "themes",
    "prospect_reasons": "prospect_reasons",
    "rep_reasons": "rep_reasons",
    "buyer_main": _MAIN.format("prospect_reasons"),  # the first listed reason is the main one
    "rep_main": _MAIN.format("rep_reasons"),
}
_TABLES = ("entry", "entry_tag", "fts_exact_vocab", "fts_exact", "fts", "problem", "folder",
           "state")  # fmt: skip
# The entry columns that, with the fts body, make a re-added entry the same as its indexed row.
_SAME = ("path", "mtime_ns", "size", "title", "date", "kind", "rep", "competitor", "outcome",
         "themes", "prospect_reasons", "rep_reasons", "trust", "deal")  # fmt: skip


def _row_values(entry: Entry, rel_path: str, mtime_ns: int, size: int) -> dict:
    """The entry as the named parameters of the entry, fts and tag inserts."""
    reasons = list(dict.fromkeys(entry.prospect_reasons + entry.rep_reasons))
    return {
        "slug": entry.slug,
        "path": rel_path,
        "mtime_ns": mtime_ns,
        "size": size,
        "title": entry.title,
        "date": entry.date.isoformat(),
        "kind": entry.kind,
        "rep": entry.rep,
        "competitor": entry.competitor,
        "outcome": entry.outcome,
        "themes": ",".join(entry.themes),
        "prospect_reasons": ",".join(entry.prospect_reasons),
        "rep_reasons": ",".join(entry.rep_reasons),
        "trust": entry.trust,
        "deal": entry.deal,
        "fts_title": strip_marks(entry.title),
        "fts_body": strip_marks(plain_text(entry.body)),
        "fts_reasons": " ".join(reasons),
        "fts_themes": " ".join(entry.themes),
        "tags": [("theme", t) for t in entry.themes] + [("reason", r) for r in reasons],
    }


class SearchIndex:
    """Full-text search over the entries folder, kept in a SQLite FTS5 file in the data folder."""

    def __init__(
        self,
        db_path: Path,
        entries_dir: Path,
        on_full_sync: Callable[[], None] | None = None,
        thesaurus: Thesaurus | None = None,
    ) -> None:
        """Open (and create if missing) the index; one SQLite connection per thread and process.

        on_full_sync: called in the sync thread after each periodic full sync this process did.
        thesaurus: the synonyms a query's words are searched with (None: none).
        """
        self.db_path = Path(db_path)
        self.thesaurus = thesaurus
        # (generation, monotonic time loaded, term -> entries using it), see vocabulary()
        self._vocabulary: tuple[str, float, dict[str, int]] | None = None
        self.entries_dir = Path(entries_dir)
        self.on_full_sync = on_full_sync
        self._local = threading.local()
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._facts = FactCache()
        # (match, filters) -> (state, Ranking, largest id, entry count), least recently used first
        self._rankings: dict = {}
        # (generation, match, ids) -> the page's Hits. An entry id is never reused (an edit gets
        # a new one), so a page of ids always shows the same rows and snippets.
        self._pages = LRU(CACHE_SIZE * 4)
        self._checked_at = float("-inf")
        # Start by trusting folder mtimes: a full stat of every file waits for the first period.
        self._full_sync_at = time.monotonic()
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self._ensure_schema()

    # --- connections and transactions ---------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        """This thread's connection (a forked child opens its own: connections do not fork)."""
        conn = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():
            conn = sqlite3.connect(self.db_path, timeout=5.0, isolation_level=None)
            conn.execute("PRAGMA busy_timeout = 5000")
            conn.execute("PRAGMA synchronous = NORMAL")  # derived data: WAL + NORMAL is enough
            conn.execute("PRAGMA temp_store = MEMORY")
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            conn.close()
        self._local.conn = None

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A short write transaction; BEGIN IMMEDIATE waits for other writers (busy_timeout)."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            # Every write moves the version, so cached rankings of older versions go unused.
            conn.execute("UPDATE state SET value = value + 1 WHERE key = 'version'")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction, so every statement of a query sees the same snapshot."""
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")

    def _ensure_schema(self) -> None:
        """Create the tables on first use; an index from another schema version is rebuilt."""
        conn = self._conn()
        conn.execute("PRAGMA journal_mode = WAL")
        with self._write() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            fresh = version != SCHEMA_VERSION
            if fresh:
                self._create_tables(conn)
        if fresh:
            # Filled from the files now: new tables alone would answer every search with nothing
            # (after an upgrade, until some request happened to sync 50k files on its own path).
            self.rebuild()

    def _create_tables(self, conn: sqlite3.Connection) -> None:
        """Drop whatever is there and create empty tables (inside the caller's transaction)."""
        for table in _TABLES:
            conn.execute(f"DROP TABLE IF EXISTS {table}")
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute(
            "INSERT INTO state (key, value) VALUES ('generation', ?), ('version', 0)",
            (secrets.token_hex(8),),
        )
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # --- writing ------------------------------------------------------------------------

    def _rel(self, path: Path) -> str:
        """A path as stored: relative to the entries folder when inside it, with / separators."""
        try:
            return Path(path).resolve().relative_to(self.entries_dir.resolve()).as_posix()
        except ValueError:
            return Path(path).as_posix()

    def _upsert(self, conn: sqlite3.Connection, row: dict) -> None:
        """Insert or replace one entry's rows in entry, fts and entry_tag."""
        old = conn.execute(
            f"SELECT e.id, {', '.join('e.' + c for c in _SAME)}, f.body FROM entry e"
            " JOIN fts f ON f.rowid = e.id WHERE e.slug = ?",
            (row["slug"],),
        ).fetchone()
        if old and old[1:] == (*(row[c] for c in _SAME), row["fts_body"]):
            # Exactly what is indexed (a sync and the entry's writer both adding it): the row
            # keeps its id, so cached rankings need not start over (SPEC 4 throughput).
            return
        if old:
            self._delete_id(conn, old[0])
        entry_id = conn.execute(
            "INSERT INTO entry (slug, path, mtime_ns, size, title, date, kind, rep, competitor,"
            " outcome, themes, prospect_reasons, rep_reasons, trust, deal) VALUES (:slug, :path,"
            " :mtime_ns, :size, :title, :date, :kind, :rep, :competitor, :outcome, :themes,"
            " :prospect_reasons, :rep_reasons, :trust, :deal)",
            row,
        ).lastrowid
        values = (
            entry_id,
            row["fts_title"],
            row["fts_body"],
            row["competitor"] or "",
            row["fts_reasons"],
            row["fts_themes"],
        )
        for table in ("fts", "fts_exact"):
            conn.execute(
                f"INSERT INTO {table} (rowid, title, body, competitor, reasons, themes)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                values,
            )
        conn.executemany(
            "INSERT INTO entry_tag (entry_id, facet, value) VALUES (?, ?, ?)",
            [(entry_id, facet, value) for facet, value in row["tags"]],
        )
        conn.execute("DELETE FROM problem WHERE path = ?", (row["path"],))

    @staticmethod
    def _delete_id(conn: sqlite3.Connection, entry_id: int) -> None:
        """Remove one entry's rows from every table."""
        # A contentless table forgets a row given the text it indexed: fts still holds it.
        conn.execute(
            "INSERT INTO fts_exact (fts_exact, rowid, title, body, competitor, reasons, themes)"
            " SELECT 'delete', rowid, title, body, competitor, reasons, themes FROM fts"
            " WHERE rowid = ?",
            (entry_id,),
        )
        conn.execute("DELETE FROM fts WHERE rowid = ?", (entry_id,))
        conn.execute("DELETE FROM entry_tag WHERE entry_id = ?", (entry_id,))
        conn.execute("DELETE FROM entry WHERE id = ?", (entry_id,))

    def add(self, entry: Entry) -> None:
        """Add or replace one entry (by slug), recording its file's mtime and size for sync."""
        with self._write() as conn:
            self._add(conn, entry)

    def add_written(self, write: Callable[[], Entry]) -> Entry:
        """Write an entry file with write() and index it, one step as the staleness check sees it.

        The file is written holding the index's write lock, so a check that finds a folder
        changed can wait for the lock and look again (_folders_changed): another worker's answer
        in flight is then seen as indexed, not as a hand edit to sync (a sync of the current year
        folder's ~20k files, 0.3-2 s, seen under the SPEC 4 load).
        """
        entry = None
        try:
            with self._write() as conn:
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
        mtime_ns, size, rel = 0, -1, entry.slug + ".md"
        if entry.path is not None:
            rel = self._rel(entry.path)
            try:
                st = os.stat(entry.path)
                mtime_ns, size = st.st_mtime_ns, st.st_size
            except OSError:
                pass  # the next sync sees a different stat and reads the file again
        self._upsert(conn, _row_values(entry, rel, mtime_ns, size))
        if entry.path is not None:
            self._record_folders(conn, Path(entry.path).parent)

    def _record_folders(self, conn: sqlite3.Connection, folder: Path) -> None:
        """Remember the mtime of a folder we just wrote into, and of its parents up to the root.

        So the cheap staleness check (folder mtimes) does not mistake our own writes, or another
        worker's indexed writes, for hand edits. A hand edit in the same instant is caught by the
        periodic full sync.
        """
        root = self.entries_dir.resolve()
        folder = folder.resolve()
        while True:
            try:
                mtime = os.stat(folder).st_mtime_ns
            except OSError:
                return
            key = "." if folder == root else folder.relative_to(root).as_posix()
            conn.execute(
                "INSERT OR REPLACE INTO folder (path, mtime_ns) VALUES (?, ?)", (key, mtime)
            )
            if folder == root or root not in folder.parents:
                return
            folder = folder.parent

    def remove(self, slug: str) -> None:
        """Remove one entry by slug (nothing happens for an unknown slug)."""
        with self._write() as conn:
            row = conn.execute("SELECT id FROM entry WHERE slug = ?", (slug,)).fetchone()
            if row:
                self._delete_id(conn, row[0])

    # --- reading ------------------------------------------------------------------------

    def entry_count(self) -> int:
        """How many entries the index holds."""
        return self._conn().execute("SELECT count(*) FROM entry").fetchone()[0]

    def problems(self) -> list[tuple[str, str]]:
        """(path, reason) of every file skipped at the last sync or rebuild."""
        rows = self._conn().execute("SELECT path, reason FROM problem ORDER BY path")
        return [(path, reason) for path, reason in rows]

    def _state(self, conn: sqlite3.Connection) -> tuple[str, int]:
        """(generation, version): a rebuild changes the first, every write bumps the second."""
        values = dict(conn.execute("SELECT key, value FROM state"))
        return str(values.get("generation", "")), int(values.get("version", 0))

    def facts(self, *, deal: int | None = None) -> list[dict]:
        """Header facts of every entry (or one deal's), newest first, for the dashboard."""
        if deal is not None:
            rows = self._conn().execute(
                f"SELECT {FACT_COLUMNS} FROM entry WHERE deal = ? ORDER BY date DESC, id DESC",
                (_int(deal, -1),),
            )
            return [fact_from_row(row[1:]).as_dict() for row in rows]
        with self._read() as conn:
            generation, _ = self._state(conn)
            facts = self._facts.refresh(conn, generation)
            order = "SELECT id FROM entry ORDER BY date DESC, id DESC"
            ids = [row[0] for row in conn.execute(order)]
        self._facts.compact(ids)
        return [facts[i].as_dict() for i in ids if i in facts]

    def fact_reps(self) -> list[str]:
        """Every rep email the entries name, as stored (an index-only scan)."""
        rows = self._conn().execute("SELECT DISTINCT rep FROM entry WHERE rep IS NOT NULL")
        return [row[0] for row in rows]

    def id_range(self) -> tuple[str, int, int]:
        """(generation, largest id, number of entries) in one snapshot, for incremental counts.

        Ids only grow (AUTOINCREMENT) until a rebuild, which changes the generation: counts kept
        for ids <= largest stay right while the entry count is theirs plus the rows added since.
        """
        with self._read() as conn:
            generation, _ = self._state(conn)
            top, count = conn.execute("SELECT max(id), count(*) FROM entry").fetchone()
        return generation, top or 0, count

    def count_by(
        self,
        columns: Sequence[str],
        *,
        date_from: str | None = None,
        date_to: str | None = None,
        kind: str | None = None,
        reps: Sequence[str] | None = None,
        marks: Sequence[str] = (),
        group: bool = True,
        ids: tuple[int, int] | None = None,
    ) -> list[tuple]:
        """(values of the columns..., [how many marks lie before the date,] entries) per group.

        For the dashboard (SPEC 4: 200 ms at 50k entries), where a Python pass over 50k facts
        took seconds. columns are names of COUNT_COLUMNS; reps=None means any rep (an empty list
        matches none); dates inclusive. group=False returns the matching rows' values ungrouped
        (no count): when the groups are nearly as many as the rows, SQLite's sort for GROUP BY
        costs more than a Counter over the fetched columns. ids=(low, high): only low < id <= high.
        """
        exprs = [COUNT_COLUMNS[name] for name in columns]  # KeyError: not a known column
        params: list = []
        if marks:
            exprs.append(" + ".join(["(date > ?)"] * len(marks)))
            params.extend(marks)
        where = []
        low, high = ids if ids is not None else (None, None)
        for sql, value in (
            ("date >= ?", date_from),
            ("date <= ?", date_to),
            ("kind = ?", kind),
            ("id > ?", low),
            ("id <= ?", high),
        ):
            if value is not None:
                where.append(sql)
                params.append(value)
        if reps is not None:
            if not reps:
                return []
            where.append(f"rep IN ({', '.join('?' * len(reps))})")
            params.extend(reps)
        groups = ", ".join(str(i) for i in range(1, len(exprs) + 1))
        # NOT INDEXED: one sequential scan (~10 ms at 50k); through entry_rep or entry_kind the
        # planner visits rows in index order with a random lookup each, ten times slower. A bare
        # count may use the indexes: entry_date covers a date range without reading rows.
        source = "entry NOT INDEXED" if exprs else "entry"
        sql = f"SELECT {', '.join([*exprs, 'count(*)'] if group else exprs)} FROM {source}"
        if where:
            sql += " WHERE " + " AND ".join(where)
        if group and groups:
            sql += " GROUP BY " + groups
        with self._read() as conn:
            return conn.execute(sql, params).fetchall()

    def deal_hits(self, deal: int) -> list[Hit]:
        """Every entry tied to one deal, newest first, as hits without snippets (on an index)."""
        rows = self._conn().execute(
            f"SELECT {ENTRY_COLUMNS} FROM entry WHERE deal = ? ORDER BY date DESC, id DESC",
            (_int(deal, -1),),
        )
        return [hit_from_row(row, Markup("")) for row in rows]

    def query(
        self,
        q: str = "",
        *,
        kind: str | None = None,
        theme: str | None = None,
        reason: str | None = None,
        competitor: str | None = None,
        rep: str | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        page: int = 1,
        per_page: int = 20,
        typed: bool = False,
    ) -> Results:
        """Search by what the words mean (newest first without a query), snippets, facets, filters.

        typed: search the words as typed, with no "did you mean" correction.
        """
        page = min(max(_int(page, 1), 1), 1_000_000)
        per_page = min(max(_int(per_page, 20), 1), 100)
        filters = Filters(
            kind=_text(kind),
            theme=slugify(_text(theme) or "") or None,
            reason=slugify(_text(reason) or "") or None,
            competitor=slugify(_text(competitor) or "") or None,
            rep=_text(rep),
            date_from=_valid_date(date_from),
            date_to=_valid_date(date_to),
        )
        plan = meaning.plan(q or "", self.thesaurus)
        if plan is None and (q or "").strip():
            # Only symbols: nothing to search for, and no list to call "best match".
            return Results([], 0, empty_facets(), 1, per_page, unsearchable=True)
        searched = suggestion = None
        with self._read() as conn:
            state = self._state(conn)
            ranking = self._ranking(conn, state, plan, filters)
            if plan is not None and not ranking.full and not typed:
                corrected = self._suggestion(conn, plan, ranking)
                if corrected and not ranking.total:
                    # Nothing found as typed: the correction is applied by itself, and said so.
                    plan, searched = meaning.plan(corrected, self.thesaurus), corrected
                    ranking = self._ranking(conn, state, plan, filters)
                else:
                    suggestion = corrected or None
            pages = max(1, -(-ranking.total // per_page))
            page = min(page, pages)  # a page past the end shows the last one
            start = (page - 1) * per_page
            match = plan.any if plan else ""
            with self._lock:
                ids = ranking.page(start, per_page, lambda: self._facts.refresh(conn, state[0]))
                page_key = (state[0], match, tuple(ids))
            hits = self._pages.get(page_key)
            if hits is None:
                # The snippets' FTS pass was ~1.5 ms of a results page (SPEC 4 throughput).
                hits = page_hits(conn, ids, match)
                self._pages.put(page_key, hits)
        if ranking.full < start + len(hits):
            first = max(ranking.full - start, 0)
            hits = hits[:first] + [replace(h, partial=True) for h in hits[first:]]
        return Results(
            hits=hits,
            total=ranking.total,
            facets=ranking.facets,
            page=page,
            per_page=per_page,
            full=ranking.full,
            searched=searched,
            suggestion=suggestion,
        )

    def _ranking(
        self, conn: sqlite3.Connection, state: tuple[str, int], plan: Plan | None, filters: Filters
    ) -> Ranking:
        """The ranking of a search or browse, from the cache, brought up to date, or computed."""
        key = (plan, filters)
        with self._lock:
            # Left in place (moved to most recent): another thread asking for the same
            # search meanwhile must find it too (taken out, concurrent browse pages each
            # ranked 50k entries from scratch under the SPEC 4 load).
            cached = self._rankings.pop(key, None)
            if cached is not None:
                self._rankings[key] = cached
        if cached is not None and cached[0] == state:
            return cached[1]
        facts = self._facts.refresh(conn, state[0])
        top = conn.execute("SELECT max(id) FROM entry").fetchone()[0] or 0
        count = conn.execute("SELECT count(*) FROM entry").fetchone()[0]
        ranking = None
        if cached is not None and cached[0][0] == state[0]:
            # Ids only grow: when nothing was deleted, the rows above the cached
            # ranking's largest id are all that changed (an answer adds one).
            added = [row[0] for row in conn.execute(
                "SELECT id FROM entry WHERE id > ? ORDER BY id", (cached[2],))]  # fmt: skip
            if cached[3] + len(added) == count:
                ranking = advance(conn, cached[1], facts, filters, plan, added)
        if ranking is None:
            if plan is not None:
                ranking = rank_search(conn, facts, filters, plan)
            else:
                ranking = rank_browse(conn, facts, filters)
        with self._lock:
            newest = self._rankings.pop(key, None)
            if newest is None or newest[0][0] != state[0] or newest[0][1] <= state[1]:
                newest = (state, ranking, top, count)  # not older than what another thread put
            self._rankings[key] = newest  # most recently used last
            while len(self._rankings) > CACHE_SIZE:
                self._rankings.pop(next(iter(self._rankings)))
        return newest[1]

    def _suggestion(self, conn: sqlite3.Connection, plan: Plan, ranking: Ranking) -> str:
        """The query with each word no entry has replaced by the indexed word most like it.

        "" when there is none. Kept on the ranking: looked for once per ranking.
        """
        if ranking.suggestion is None:
            words, changed = [], False
            for term in plan.terms:
                word = term.text
                found = conn.execute(
                    "SELECT rowid FROM fts WHERE fts MATCH ? LIMIT 1", (term.meant,)
                ).fetchone()
                if found is None:
                    better = meaning.closest(word, self.vocabulary())
                    if better:
                        word, changed = better, True
                words.append(word)
            ranking.suggestion = " ".join(words) if changed else ""
        return ranking.suggestion

    def vocabulary(self) -> dict[str, int]:
        """Every indexed word as written (accents folded) -> how many entries use it.

        For "did you mean" only, so a copy may lag the entries: it is read again after a
        rebuild, or once VOCABULARY_AGE seconds old (a 50k index's vocabulary takes ~0.2 s to
        read). A word newer than the copy is found by search all the same, never corrected.
        """
        now = time.monotonic()
        conn = self._conn()  # in the caller's read transaction, if any
        generation, _ = self._state(conn)
        kept = self._vocabulary
        if kept and kept[0] == generation and now - kept[1] < VOCABULARY_AGE:
            return kept[2]
        words = dict(conn.execute("SELECT term, doc FROM fts_exact_vocab"))
        self._vocabulary = (generation, now, words)
        return words

    def forget_rankings(self) -> None:
        """Drop the cached rankings and pages of hits (the next searches compute them anew)."""
        with self._lock:
            self._rankings.clear()
            self._pages.clear()

    # --- keeping up with the files ------------------------------------------------------

    def _scan(self, start: str = ".") -> tuple[dict[str, tuple[int, int]], dict[str, int]]:
        """Entry files (relative path -> (mtime_ns, size)) and folder mtimes under a folder."""
        files: dict[str, tuple[int, int]] = {}
        folders: dict[str, int] = {}
        root = str(self.entries_dir)
        stack = [root if start == "." else os.path.join(root, start)]
        while stack:
            folder = stack.pop()
            try:
                mtime = os.stat(folder).st_mtime_ns
                listing = list(os.scandir(folder))
            except OSError:
                continue
            rel_folder = os.path.relpath(folder, root).replace(os.sep, "/")
            folders[rel_folder] = mtime
            prefix = "" if rel_folder == "." else rel_folder + "/"
            for item in listing:
                if item.name.startswith("."):
                    continue
                if item.is_dir(follow_symlinks=False):
                    stack.append(item.path)
                elif item.name.endswith(".md") and item.is_file(follow_symlinks=False):
                    # A symlink (say, pulled in by git) could point anywhere: not an entry.
                    try:
                        st = item.stat()
                    except OSError:
                        continue
                    files[prefix + item.name] = (st.st_mtime_ns, st.st_size)
        return files, folders

    def _parse(self, rel: str) -> Entry:
        """Read and parse one file given by its relative path."""
        path = self.entries_dir / rel
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise EntryError(path, f"cannot read: {exc.strerror or exc}") from None
        return parse_entry(path, raw)

    def sync(self, within: list[str] | None = None) -> tuple[int, int, int, list[EntryError]]:
        """Pick up new, changed and deleted files; only changed files are parsed again.

        `within`: only these folders (relative, with their subfolders), as the cheap staleness
        check finds them; None or "." is the whole tree (50k files: ~0.6 s).
        """
        conn = self._conn()
        scope = None if within is None or "." in within else _outermost(within)
        # The index is read before the folder: an entry another process adds in between is then
        # merely re-added, never mistaken for a deleted file.
        known: dict[str, tuple] = {}
        broken: dict[str, tuple[int, int]] = {}
        files: dict[str, tuple[int, int]] = {}
        folders: dict[str, int] = {}
        for where, params in _path_ranges(scope):
            rows = conn.execute(
                f"SELECT id, slug, path, mtime_ns, size FROM entry WHERE {where}", params
            )
            known.update({p: (i, slug, m, z) for i, slug, p, m, z in rows})
            rows = conn.execute(f"SELECT path, mtime_ns, size FROM problem WHERE {where}", params)
            broken.update({p: (m, z) for p, m, z in rows})
        for start in scope or ["."]:
            found_files, found_folders = self._scan(start)
            files.update(found_files)
            folders.update(found_folders)
        gone = sorted(p for p in known if p not in files)
        gone_broken = [p for p in broken if p not in files]
        todo = sorted(
            p
            for p, stat in files.items()
            if (p in known and known[p][2:] != stat)
            or (p in broken and broken[p] != stat)
            or (p not in known and p not in broken)
        )
        added = changed = removed = 0
        if gone or gone_broken:
            with self._write() as conn:
                for p in gone:
                    self._delete_id(conn, known[p][0])
                conn.executemany("DELETE FROM problem WHERE path = ?", [(p,) for p in gone_broken])
        removed += len(gone)
        for start in range(0, len(todo), BATCH):
            batch = todo[start : start + BATCH]
            parsed: list[tuple[str, Entry | EntryError]] = []
            for rel in batch:
                try:
                    parsed.append((rel, self._parse(rel)))
                except EntryError as exc:
                    parsed.append((rel, exc))
            with self._write() as conn:
                for rel, result in parsed:
                    if isinstance(result, Entry):
                        result = self._claim_slug(conn, rel, result)
                    mtime, size = files[rel]
                    if isinstance(result, EntryError):
                        if rel in known:
                            self._delete_id(conn, known[rel][0])
                            removed += 1
                        conn.execute(
                            "INSERT OR REPLACE INTO problem (path, reason, mtime_ns, size)"
                            " VALUES (?, ?, ?, ?)",
                            (rel, result.reason, mtime, size),
                        )
                        continue
                    self._upsert(conn, _row_values(result, rel, mtime, size))
                    if rel in known:
                        changed += 1
                    else:
                        added += 1
        with self._write() as conn:
            for start in scope or ["."]:
                if start == ".":
                    conn.execute("DELETE FROM folder")
                else:
                    conn.execute("DELETE FROM folder WHERE path = ? OR (path >= ? AND path < ?)",
                                 (start, start + "/", start + "0"))  # fmt: skip
            conn.executemany(
                "INSERT OR REPLACE INTO folder (path, mtime_ns) VALUES (?, ?)", folders.items()
            )
        if scope is None:
            with self._lock:
                self._full_sync_at = time.monotonic()
        return added, changed, removed, self._problem_errors()

    def path_of(self, slug: str) -> Path | None:
        """The file an indexed slug was read from (None when the index has no such slug)."""
        row = self._conn().execute("SELECT path FROM entry WHERE slug = ?", (slug,)).fetchone()
        return self.entries_dir / row[0] if row else None

    def _claim_slug(self, conn, rel: str, entry: Entry) -> Entry | EntryError:
        """The entry, or an error when another existing file already uses the same slug."""
        row = conn.execute("SELECT path FROM entry WHERE slug = ?", (entry.slug,)).fetchone()
        if row and row[0] != rel and (self.entries_dir / row[0]).is_file():
            return EntryError(self.entries_dir / rel, f"duplicate slug {entry.slug!r}: {row[0]}")
        return entry

    def _problem_errors(self) -> list[EntryError]:
        """The recorded problems as EntryError objects."""
        return [EntryError(path, reason) for path, reason in self.problems()]

    def rebuild(self, progress: Callable[[int, int], None] | None = None) -> list[EntryError]:
        """Rebuild the whole index from the files, in one transaction (readers see old or new)."""
        files, folders = self._scan()
        rows: list[dict] = []
        problems: list[tuple[str, str, int, int]] = []
        seen: dict[str, str] = {}
        order = sorted(files)
        for done, rel in enumerate(order, 1):
            mtime, size = files[rel]
            try:
                entry = self._parse(rel)
                if entry.slug in seen:
                    raise EntryError(rel, f"duplicate slug {entry.slug!r}: {seen[entry.slug]}")
                seen[entry.slug] = rel
                rows.append(_row_values(entry, rel, mtime, size))
            except EntryError as exc:
                problems.append((rel, exc.reason, mtime, size))
            if progress and (done % 500 == 0 or done == len(order)):
                progress(done, len(order))
        with self._write() as conn:
            self._create_tables(conn)
            conn.executemany(
                "INSERT INTO entry (id, slug, path, mtime_ns, size, title, date, kind, rep,"
                " competitor, outcome, themes, prospect_reasons, rep_reasons, trust, deal) VALUES"
                " (:id, :slug, :path, :mtime_ns, :size, :title, :date, :kind, :rep, :competitor,"
                " :outcome, :themes, :prospect_reasons, :rep_reasons, :trust, :deal)",
                [dict(row, id=i) for i, row in enumerate(rows, 1)],
            )
            values = [
                (i, r["fts_title"], r["fts_body"], r["competitor"] or "", r["fts_reasons"],
                 r["fts_themes"])
                for i, r in enumerate(rows, 1)
            ]  # fmt: skip
            for table in ("fts", "fts_exact"):
                conn.executemany(
                    f"INSERT INTO {table} (rowid, title, body, competitor, reasons, themes)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    values,
                )
            conn.executemany(
                "INSERT INTO entry_tag (entry_id, facet, value) VALUES (?, ?, ?)",
                [(i, f, v) for i, r in enumerate(rows, 1) for f, v in r["tags"]],
            )
            conn.executemany("INSERT INTO problem VALUES (?, ?, ?, ?)", problems)
            conn.executemany("INSERT INTO folder (path, mtime_ns) VALUES (?, ?)", folders.items())
        with self._lock:
            self._full_sync_at = time.monotonic()
        return self._problem_errors()

    def sync_if_stale(self, max_age: float = 2.0) -> None:
        """Cheap guard before a query: sync when a folder changed (checked every max_age s).

        Files added, removed or renamed change their folder's mtime: that check is a few stat
        calls, and a changed folder is synced before the query. In-place edits do not touch the
        folder, so a full sync also runs every FULL_SYNC_EVERY seconds, in a background thread,
        never on the request that notices it is due.
        """
        now = time.monotonic()
        with self._lock:
            if now - self._checked_at < max_age:
                return
            self._checked_at = now
            full_due = now - self._full_sync_at >= FULL_SYNC_EVERY
            if full_due:
                self._full_sync_at = now  # claimed: other threads do not start a second one
        if not self._sync_lock.acquire(blocking=False):
            return  # another thread of this process is syncing right now
        try:
            changed = self._folders_changed()
            if changed:
                # Usually one year folder, often just written by another worker whose index row
                # was not in yet: a sync of that folder alone (not 50k files, ~0.6 s).
                self.sync(within=changed)
            elif full_due:
                threading.Thread(target=self._background_sync, daemon=True).start()
        except sqlite3.OperationalError as exc:
            # A busy index (e.g. a long rebuild elsewhere) means slightly stale results, not a 500.
            log.warning("index sync skipped: %s", exc)
        finally:
            self._sync_lock.release()

    def _claim_full_sync(self) -> bool:
        """Whether this process does the periodic full sync now (one process per period).

        Every worker process has its own timer; a full sync costs ~0.6 s of CPU at 50k files,
        so the time of the last one is kept in the index, and the others skip their turn.
        """
        now = time.time()
        conn = self._conn()  # autocommit: one statement, and no version bump (rankings stay)
        conn.execute("INSERT OR IGNORE INTO state (key, value) VALUES ('full_sync_at', 0)")
        claimed = conn.execute(
            "UPDATE state SET value = ? WHERE key = 'full_sync_at' AND value <= ?",
            (now, now - FULL_SYNC_EVERY + 1.0),  # a second of slack for timers firing together
        )
        return claimed.rowcount == 1

    def _background_sync(self) -> None:
        """A full sync off the request path; failures are logged, the next one tries again."""
        try:
            with self._sync_lock:
                claimed = self._claim_full_sync()
                if claimed:
                    self.sync()
            if claimed and self.on_full_sync is not None:
                self.on_full_sync()
        except Exception:
            log.exception("background index sync failed")
        finally:
            self.close()

    def _folders_changed(self) -> list[str]:
        """The known folders whose mtime moved (a file added, removed or renamed by hand)."""
        changed = self._compare_folders()
        if changed and changed != ["."]:
            # Maybe an entry being written by add_written right now: once its writer lets go of
            # the write lock, its folder's new mtime is recorded. Look again holding the lock.
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                changed = self._compare_folders(changed)
            finally:
                conn.execute("ROLLBACK")  # nothing written: no version bump
        return changed

    def _compare_folders(self, only: list[str] | None = None) -> list[str]:
        """The known folders (of `only`, if given) whose mtime is not the recorded one."""
        rows = self._conn().execute("SELECT path, mtime_ns FROM folder").fetchall()
        if not rows:
            return ["."]
        changed = []
        for rel, mtime in rows:
            if only is not None and rel not in only:
                continue
            try:
                if os.stat(self.entries_dir / rel).st_mtime_ns != mtime:
                    changed.append(rel)
            except OSError:
                changed.append(rel)
        return changed


def _outermost(folders: list[str]) -> list[str]:
    """The folders that are not inside another of them (a scan goes down into subfolders)."""
    kept: list[str] = []
    for folder in sorted(set(folders)):
        if not any(folder.startswith(k + "/") for k in kept):
            kept.append(folder)
    return kept


def _path_ranges(scope: list[str] | None) -> list[tuple[str, tuple]]:
    """SQL conditions on `path` for the files under each folder of scope (None: every path)."""
    if scope is None:
        return [("1", ())]
    # "/" sorts just before "0": the paths under "2024/" are those >= "2024/" and < "20240".
    return [("path >= ? AND path < ?", (f"{folder}/", f"{folder}0")) for folder in scope]


def _valid_date(value: object) -> str | None:
    """A YYYY-MM-DD filter value, or None when missing or malformed (then it is ignored)."""
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return value
    return None


def _text(value: object) -> str | None:
    """A filter value as text, None when empty."""
    return str(value) if value not in (None, "") else None


def _int(value: object, default: int) -> int:
    """A whole number from user input, or the default."""
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return default
