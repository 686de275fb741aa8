"""A small SQLite file in the data folder that every worker process and thread shares.

For the few records that must hold across gunicorn workers and cannot wait for a TinyDB shard
rewrite on every request: the rate-limit counters and the live sessions. A write is one
BEGIN IMMEDIATE transaction (writers queue, so a count and its insert are one step), and a file
that cannot be opened, read or written (disk full, read-only) raises Unavailable, an OSError, so
callers fail closed and the error pages say "cannot save right now" (503), never a trace.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

log = logging.getLogger("debrief")


class Unavailable(OSError):
    """The file cannot be read or written right now; refuse rather than guess."""


@contextmanager
def _failing_closed(path: Path) -> Iterator[None]:
    """Turn SQLite's "disk is full", "readonly database", "unable to open" into Unavailable."""
    try:
        yield
    except sqlite3.OperationalError as error:
        log.error("%s: %s", path, error)
        raise Unavailable(f"{path.name}: {error}") from error


class SQLiteFile:
    """One SQLite file: a connection per thread (and process), the schema made on first use."""

    def __init__(self, path: Path, schema: str) -> None:
        self.path = Path(path)
        self.schema = schema
        self._local = threading.local()

    def _conn(self) -> sqlite3.Connection:
        """This thread's connection (a forked child opens its own: connections do not fork)."""
        conn = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():
            conn = sqlite3.connect(self.path, timeout=5, isolation_level=None)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                # FULL: a sign-out or a counted attempt must survive a power cut, not only a crash.
                conn.execute("PRAGMA synchronous=FULL")
                conn.executescript(self.schema)
            except sqlite3.Error:
                conn.close()
                raise
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def read(self, sql: str, args: tuple = ()) -> list[tuple]:
        """The rows of one query."""
        with _failing_closed(self.path):
            return self._conn().execute(sql, args).fetchall()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed whole, or (on any error) not at all."""
        with _failing_closed(self.path):
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    with suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise
