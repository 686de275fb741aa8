"""Noticing files changed by hand: folder mtimes before a query, a periodic full sync.

Files added, removed or renamed change their folder's mtime: that check is a few stat calls,
and a changed folder is synced before the query. In-place edits do not touch the folder, so a
full sync also runs every FULL_SYNC_EVERY seconds, in a background thread, never on the request
that notices it is due, and in one process per period.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from debrief.index.database import Database

log = logging.getLogger(__name__)

FULL_SYNC_EVERY = 30.0  # seconds; catches in-place edits that do not touch a folder's mtime


class Staleness:
    """The staleness check of a SearchIndex (its db, entries_dir and sync() are the host's)."""

    db: Database
    entries_dir: Path
    on_full_sync: Callable[[], None] | None

    def sync(self, within: list[str] | None = None) -> object:
        """Pick up changed files (the host's)."""
        raise NotImplementedError

    def _start_staleness(self) -> None:
        """The clock and the times of the last check and the last full sync."""
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()
        # The clock of the staleness check; replaceable, so a test can let time pass at once.
        self.clock: Callable[[], float] = time.monotonic
        self._checked_at = float("-inf")
        # Start by trusting folder mtimes: a full stat of every file waits for the first period.
        self._full_sync_at = self.clock()

    def synced_all(self) -> None:
        """Note that every file was just looked at (a full sync or a rebuild)."""
        with self._lock:
            self._full_sync_at = self.clock()

    def sync_if_stale(self, max_age: float = 2.0) -> None:
        """Cheap guard before a query: sync when a folder changed (checked every max_age s)."""
        now = self.clock()
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
                # was not in yet: a sync of that folder alone, not of every file.
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

        Every worker process has its own timer; a full sync stats every file, so the time of
        the last one is kept in the index, and the others skip their turn.
        """
        now = time.time()
        conn = self.db.conn()  # autocommit: one statement, and no version bump (rankings stay)
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
            self.db.close()

    def _folders_changed(self) -> list[str]:
        """The known folders whose mtime moved (a file added, removed or renamed by hand)."""
        changed = self._compare_folders()
        if changed and changed != ["."]:
            # Maybe an entry being written by add_written right now: once its writer lets go of
            # the write lock, its folder's new mtime is recorded. Look again holding the lock.
            with self.db.write_lock():
                changed = self._compare_folders(changed)
        return changed

    def _compare_folders(self, only: list[str] | None = None) -> list[str]:
        """The known folders (of `only`, if given) whose mtime is not the recorded one."""
        rows = self.db.conn().execute("SELECT path, mtime_ns FROM folder").fetchall()
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
