"""Live sessions kept on the server, so that signing out ends a session for good.

Flask's session is a signed cookie held by the browser: clearing it at sign-out does not stop a
copy saved earlier from working until it expires. So the cookie carries a random session id and
the server keeps the live ones: sign-out deletes the id, and a replayed cookie finds nothing.

Why one id per session rather than a "valid after" stamp or a generation number in the user
record: bumping those at sign-out would sign the user out on every other device too. Why a SQLite
file rather than the store: load_user checks the id on every request, and a
primary-key lookup on an open per-thread connection costs microseconds, where a TinyDB table of
sessions would be rewritten at every sign-in and grow with each one. Only the id's SHA-256 is
kept, as for invitation tokens. A password reset or a deactivation still ends every session of
the account through the user record (auth.views.load_user reads it on each request anyway), so
no writer of accounts (people pages, CLI) has to remember to end sessions.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from pathlib import Path

from flask import current_app

from debrief.sqlitefile import SQLiteFile

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY, user_id INTEGER NOT NULL, seen REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_seen ON sessions (seen);
"""


def _digest(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


class Sessions:
    """The live sessions of one site: begun at sign-in, checked per request, ended at sign-out."""

    def __init__(self, path: Path, idle_limit: float) -> None:
        self.db = SQLiteFile(path, SCHEMA)
        self.idle_limit = idle_limit

    def begin(self, user_id: int) -> str:
        """A new live session of user_id (and sessions idle past the limit forgotten): its id."""
        sid = secrets.token_urlsafe(32)
        now = time.time()
        with self.db.write() as db:
            db.execute("INSERT INTO sessions VALUES (?, ?, ?)", (_digest(sid), user_id, now))
            db.execute("DELETE FROM sessions WHERE seen < ?", (now - self.idle_limit,))
        return sid

    def is_live(self, sid: object, user_id: int) -> bool:
        """Whether sid is a session of user_id not ended and not idle past the limit."""
        if not isinstance(sid, str):
            return False  # a cookie from before sessions were kept on the server
        query = "SELECT 1 FROM sessions WHERE id = ? AND user_id = ? AND seen > ?"
        return bool(self.db.read(query, (_digest(sid), user_id, time.time() - self.idle_limit)))

    def touch(self, sid: str) -> None:
        """The session is in use: its idle time starts again (when the cookie is renewed)."""
        with self.db.write() as db:
            db.execute("UPDATE sessions SET seen = ? WHERE id = ?", (time.time(), _digest(sid)))

    def end(self, sid: str) -> None:
        """Sign-out: the id is forgotten, so no copy of the cookie works again."""
        with self.db.write() as db:
            db.execute("DELETE FROM sessions WHERE id = ?", (_digest(sid),))


def get_sessions() -> Sessions:
    """The app's sessions: one per app, so each thread keeps its open connection."""
    extensions = current_app.extensions
    if "debrief.sessions" not in extensions:
        path = Path(current_app.config["DATA_DIR"]) / "sessions.sqlite"
        idle_limit = current_app.permanent_session_lifetime.total_seconds()
        extensions["debrief.sessions"] = Sessions(path, idle_limit)
    return extensions["debrief.sessions"]
