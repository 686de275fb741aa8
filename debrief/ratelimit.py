"""Counting attempts per key in a sliding window, shared by every worker process.

A small SQLite file in the data folder rather than Flask-Limiter: its storages are
per-process memory or a separate server (Redis, Memcached), and sign-in and token
limits must hold across all workers of one site with no server to run.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

_local = threading.local()


def _db(path: Path) -> sqlite3.Connection:
    """One connection per thread and file."""
    conns = getattr(_local, "conns", None)
    if conns is None:
        conns = _local.conns = {}
    conn = conns.get(path)
    if conn is None:
        conn = sqlite3.connect(path, timeout=5, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("CREATE TABLE IF NOT EXISTS hits (key TEXT NOT NULL, at REAL NOT NULL)")
        conn.execute("CREATE INDEX IF NOT EXISTS hits_key ON hits (key, at)")
        conns[path] = conn
    return conn


class Limiter:
    """At most `limit` hits per key within `window` seconds."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def count(self, key: str, window: float) -> int:
        """Hits for key within the window."""
        since = time.time() - window
        row = (
            _db(self.path)
            .execute("SELECT count(*) FROM hits WHERE key = ? AND at > ?", (key, since))
            .fetchone()
        )
        return row[0]

    def hit(self, key: str) -> None:
        """Record one attempt for key (and forget attempts older than a day)."""
        now = time.time()
        db = _db(self.path)
        db.execute("INSERT INTO hits (key, at) VALUES (?, ?)", (key, now))
        if int(now) % 97 == 0:  # now and then, not on every hit
            db.execute("DELETE FROM hits WHERE at < ?", (now - 86400,))

    def blocked(self, keys: list[str], limit: int, window: float) -> bool:
        """True when any key has reached the limit."""
        return any(self.count(k, window) >= limit for k in keys)

    def reset(self, key: str) -> None:
        """Forget the attempts of key (after a successful sign-in)."""
        _db(self.path).execute("DELETE FROM hits WHERE key = ?", (key,))
