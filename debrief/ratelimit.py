"""Counting attempts per key in a sliding window, shared by every worker process.

A small SQLite file in the data folder rather than Flask-Limiter: its storages are
per-process memory or a separate server (Redis, Memcached), and sign-in and token
limits must hold across all workers of one site with no server to run.
"""

from __future__ import annotations

import time
from pathlib import Path

from flask import current_app

from debrief.sqlitefile import SQLiteFile

SCHEMA = """
CREATE TABLE IF NOT EXISTS hits (key TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS hits_key ON hits (key, at);
"""
_COUNT = "SELECT count(*) FROM hits WHERE key = ? AND at > ?"


class Limiter:
    """At most `limit` attempts per key within `window` seconds."""

    def __init__(self, path: Path) -> None:
        self.db = SQLiteFile(path, SCHEMA)

    def attempt(self, keys: list[str], limit: int, window: float) -> float | None:
        """Count and record one attempt on every key in one step: its time, or None at the limit.

        Checking, then verifying a password, then recording let 40 concurrent guesses through
        12 times; in one write transaction the sixth waits for the fifth's record and is refused.
        Unavailable (an OSError) when the attempt cannot be recorded: the caller refuses it.
        """
        now = time.time()
        with self.db.write() as db:
            for key in keys:
                if db.execute(_COUNT, (key, now - window)).fetchone()[0] >= limit:
                    return None
            db.executemany("INSERT INTO hits (key, at) VALUES (?, ?)", [(k, now) for k in keys])
            if int(now) % 97 == 0:  # now and then, not on every attempt
                db.execute("DELETE FROM hits WHERE at < ?", (now - 86400,))
        return now

    def count(self, key: str, window: float) -> int:
        """Attempts recorded for key within the window."""
        return self.db.read(_COUNT, (key, time.time() - window))[0][0]

    def withdraw(self, keys: list[str], at: float) -> None:
        """Take back one attempt's records (it succeeded: a sign-in is not a failure)."""
        # One record per key: another attempt in the same clock tick left an equal one.
        one = (
            "DELETE FROM hits WHERE rowid = "
            "(SELECT rowid FROM hits WHERE key = ? AND at = ? LIMIT 1)"
        )
        with self.db.write() as db:
            db.executemany(one, [(k, at) for k in keys])

    def reset(self, key: str) -> None:
        """Forget every attempt of key (an account's failures, after it signs in)."""
        with self.db.write() as db:
            db.execute("DELETE FROM hits WHERE key = ?", (key,))


def get_limiter() -> Limiter:
    """The app's limiter: one per app, so each thread keeps its open connection."""
    extensions = current_app.extensions
    if "debrief.limiter" not in extensions:
        path = Path(current_app.config["DATA_DIR"]) / "ratelimit.sqlite"
        extensions["debrief.limiter"] = Limiter(path)
    return extensions["debrief.limiter"]
