"""The index's database: its schema, a connection per thread, and read and write transactions."""

# SQL text here is assembled only from module constants; values are bound parameters.
# ruff: noqa: S608

from __future__ import annotations

import os
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from debrief.index import meaning

# 4: the warning table (repairs made reading hand-written files); 5: word forms (porter) in fts,
# the words as typed in fts_exact; 6: the newest entries again in fts_recent and fts_recent_exact
SCHEMA_VERSION = 6
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
-- The same for the rows from state's recent_low id up: a broad search's work is bounded by
-- their number (recent.py). fts_recent reads its text (snippets) from fts.
CREATE VIRTUAL TABLE fts_recent USING fts5(
    title, body, competitor, reasons, themes,
    tokenize = '%s', prefix = '2 3', content = 'fts', content_rowid = 'rowid'
);
CREATE VIRTUAL TABLE fts_recent_exact USING fts5(
    title, body, competitor, reasons, themes,
    tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3', content = ''
);
CREATE TABLE problem(path TEXT PRIMARY KEY, reason TEXT NOT NULL, mtime_ns INTEGER, size INTEGER);
CREATE TABLE warning(entry_id INTEGER NOT NULL, message TEXT NOT NULL);
CREATE INDEX warning_entry ON warning(entry_id);
CREATE TABLE folder(path TEXT PRIMARY KEY, mtime_ns INTEGER NOT NULL);
CREATE TABLE state(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
""".replace("%s", meaning.TOKENIZER)  # word forms: porter over the unicode61 of fts_exact
FTS_COLUMNS = "title, body, competitor, reasons, themes"  # of every fts table, in this order
TABLES = ("entry", "entry_tag", "fts_exact_vocab", "fts_recent_exact", "fts_recent", "fts_exact",
          "fts", "problem", "warning", "folder", "state")  # fmt: skip


def create_tables(conn: sqlite3.Connection) -> None:
    """Drop whatever is there and create empty tables (inside the caller's transaction)."""
    for table in TABLES:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.execute(
        "INSERT INTO state (key, value) VALUES ('generation', ?), ('version', 0),"
        " ('recent_low', 1)",
        (secrets.token_hex(8),),
    )
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def fts_insert(table: str) -> str:
    """The INSERT of one row's text (rowid first, then FTS_COLUMNS) into an fts table."""
    return f"INSERT INTO {table} (rowid, {FTS_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"


def fts_forget(conn: sqlite3.Connection, table: str, first: int, last: int) -> None:
    """Take rows first..last out of an fts table that has no text of its own (contentless, or
    reading fts's): such a table forgets a row given the text it indexed, fts's copy, so call
    this before fts loses the rows."""
    conn.execute(
        f"INSERT INTO {table} ({table}, rowid, {FTS_COLUMNS}) SELECT 'delete', rowid,"
        f" {FTS_COLUMNS} FROM fts WHERE rowid BETWEEN ? AND ?",
        (first, last),
    )


def state(conn: sqlite3.Connection) -> tuple[str, int]:
    """(generation, version): a rebuild changes the first, every write bumps the second."""
    values = dict(conn.execute("SELECT key, value FROM state"))
    return str(values.get("generation", "")), int(values.get("version", 0))


class Database:
    """One SQLite index file: a connection per thread and process, short transactions."""

    def __init__(self, path: Path) -> None:
        """Remember the file (created on open())."""
        self.path = Path(path)
        self._local = threading.local()

    def conn(self) -> sqlite3.Connection:
        """This thread's connection (a forked child opens its own: connections do not fork)."""
        conn = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():
            conn = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)
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
    def write(self) -> Iterator[sqlite3.Connection]:
        """A short write transaction; BEGIN IMMEDIATE waits for other writers (busy_timeout)."""
        conn = self.conn()
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

    def read(self) -> AbstractContextManager[sqlite3.Connection]:
        """A read transaction, so every statement of a query sees the same snapshot."""
        return self._held("BEGIN", "COMMIT")

    def write_lock(self) -> AbstractContextManager[sqlite3.Connection]:
        """Hold the write lock without writing (no version bump): to look while writers wait."""
        return self._held("BEGIN IMMEDIATE", "ROLLBACK")

    @contextmanager
    def _held(self, begin: str, end: str) -> Iterator[sqlite3.Connection]:
        """A transaction that ends with `end` however its block ends (it writes nothing)."""
        conn = self.conn()
        conn.execute(begin)
        try:
            yield conn
        finally:
            if conn.in_transaction:
                conn.execute(end)

    def open(self) -> bool:
        """Create the tables on first use; True when they are new (an empty or older index)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn().execute("PRAGMA journal_mode = WAL")
        with self.write() as conn:
            fresh = conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION
            if fresh:
                create_tables(conn)
        return fresh

    def version(self) -> tuple[str, int]:
        """(generation, version) in one snapshot, whichever process wrote last."""
        with self.read() as conn:
            return state(conn)
