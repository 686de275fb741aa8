"""Proposed themes as the pages see them: the cached result of discover.py, and dismissals.

The proposals are computed in another process (discover.py) and saved to
<DATA_DIR>/theme-proposals.json; pages only read that file, so they answer fast at any size and
the server never loads scikit-learn. Invalidation: the file records the knowledge base's
entries_key() it was computed from (generation, largest entry id, entry count): an entry
written, tagged or edited gets a new id, a removal changes the count, a rebuild the generation.
When it differs, a page that shows proposals starts one refresh in the background and says how
fresh what it shows is. One refresh at a time across processes: the refresh holds a lock file
while it runs.

A dismissed proposal is stored with its entry slugs (table `dismissed_proposals`); a proposal
whose every entry was in a dismissed one stays hidden, one that new entries joined comes back.
"""

from __future__ import annotations

import datetime
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from flask import current_app

from debrief.files import atomic_write, file_lock
from debrief.index import KnowledgeBase, get_kb
from debrief.store import Store, stamp
from debrief.themes import stats

log = logging.getLogger(__name__)
CACHE = "theme-proposals.json"
CACHE_WITH_TAGGED = "theme-proposals-with-tagged.json"  # asked for on the page: every entry
LOCK = "theme-proposals.lock"
TABLE = "dismissed_proposals"
# The refresh process; a module value so a test can make it fail.
COMMAND = (sys.executable, "-m", "debrief.themes.discover")
# A refresh that failed is not started again for this long: each costs seconds of CPU, and the
# page that waits for a first result reloads every 5 s (its error is in the server's log).
RETRY_AFTER = 300.0


@dataclass
class Shown:
    """What /themes/discover shows: the proposals and how fresh they are."""

    proposals: list[dict[str, Any]] = field(default_factory=list)
    computed: str | None = None  # when the shown proposals were computed (None: never yet)
    current: bool = False  # computed from the knowledge base as it is now
    refreshing: bool = False  # a refresh is running
    failed: bool = False  # the last refresh this process started failed (retried later)
    considered: int = 0  # untagged entries looked at
    untagged: int = 0  # untagged entries in all
    limit: int = 0
    dismissed: int = 0  # proposals hidden: dismissed, or made into a theme
    with_tagged: bool = False  # computed over every entry, tagged ones too (asked for)

    @property
    def limited(self) -> bool:
        """Whether only the most recent untagged entries were looked at."""
        return self.untagged > self.considered and self.considered >= self.limit


# --- the cache file and its lock ------------------------------------------------------------------


def cache_path(data_dir: Path, with_tagged: bool = False) -> Path:
    """Where the computed proposals are kept (of the untagged entries, or of every entry)."""
    return Path(data_dir) / (CACHE_WITH_TAGGED if with_tagged else CACHE)


@contextmanager
def _refresh_lock(data_dir: Path) -> Iterator[bool]:
    """Hold the refresh lock if free: yields False when another process is refreshing."""
    with ExitStack() as held:
        try:
            held.enter_context(file_lock(Path(data_dir) / LOCK, wait=False))
        except BlockingIOError:
            yield False
            return
        yield True


def is_refreshing(data_dir: Path) -> bool:
    """Whether a refresh holds the lock right now (in any process)."""
    with _refresh_lock(data_dir) as free:
        return not free


def refresh(data_dir: Path, entries_dir: Path, with_tagged: bool = False) -> bool:
    """Compute the proposals and save them atomically; False when a refresh is already running."""
    from debrief.themes import discover  # scikit-learn comes with it: never in a web process

    with _refresh_lock(data_dir) as held:
        if not held:
            return False
        started = time.perf_counter()
        kb = KnowledgeBase(Path(data_dir) / "index.sqlite", Path(entries_dir))
        try:
            result = discover.compute(kb, with_tagged=with_tagged)
        finally:
            kb.close()
        result["computed"] = stamp()
        result["seconds"] = round(time.perf_counter() - started, 2)
        # No fsync: a cache, computed again when lost.
        atomic_write(cache_path(data_dir, with_tagged), orjson.dumps(result), fsync=False)
    return True


def load(data_dir: Path, with_tagged: bool = False) -> dict[str, Any] | None:
    """The saved proposals, or None when there are none yet (or the file is unreadable)."""
    try:
        return orjson.loads(cache_path(data_dir, with_tagged).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None


def _last_refresh() -> tuple[subprocess.Popen | None, float]:
    """The refresh process this server process last started, and when (monotonic seconds)."""
    return current_app.extensions.get("debrief.proposals.process", (None, 0.0))


def refresh_failed() -> bool:
    """Whether the last refresh started here failed less than RETRY_AFTER seconds ago."""
    process, started = _last_refresh()
    return (
        process is not None
        and process.poll() not in (None, 0)
        and time.monotonic() - started < RETRY_AFTER
    )


def start_refresh(with_tagged: bool = False) -> bool:
    """Start a refresh in a background process unless one is running or the last one failed
    lately; True when started."""
    data_dir = Path(current_app.config["DATA_DIR"])
    process, _ = _last_refresh()
    running = process is not None and process.poll() is None
    if running or refresh_failed() or is_refreshing(data_dir):
        return False
    command = [*COMMAND, str(data_dir), str(current_app.config["ENTRIES_DIR"])]
    command += ["--with-tagged"] if with_tagged else []
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, start_new_session=True)
    current_app.extensions["debrief.proposals.process"] = (process, time.monotonic())
    threading.Thread(target=process.wait, daemon=True).start()  # reaped when it ends
    return True


# --- what the pages show ------------------------------------------------------------------------


def _dismissals(store: Store) -> list[set[str]]:
    """The entry slugs of every dismissed proposal."""
    return [set(d["slugs"]) for d in store.table(TABLE).all()]


def is_dismissed(proposal: dict[str, Any], dismissals: list[set[str]]) -> bool:
    """Dismissed, and no entry joined it since: every entry was in one dismissed proposal."""
    slugs = set(proposal["slugs"])
    return any(slugs <= d for d in dismissals)


def _months(dates: list[str]) -> tuple[str, str]:
    """The first and last month of the dates (YYYY-MM)."""
    return min(dates)[:7], max(dates)[:7]


def current(store: Store, start: bool = True, with_tagged: bool = False) -> Shown:
    """The proposals to show now; starts a refresh when the knowledge base changed since."""
    data_dir = Path(current_app.config["DATA_DIR"])
    kb = get_kb()
    kb.sync_if_stale()
    saved = load(data_dir, with_tagged)
    fresh = saved is not None and saved.get("version") == list(kb.entries_key())
    refreshing = is_refreshing(data_dir)
    if not fresh and start and not refreshing:
        refreshing = start_refresh(with_tagged)
    if saved is None:
        return Shown(refreshing=refreshing, failed=refresh_failed(), with_tagged=with_tagged)
    dismissals = _dismissals(store)
    proposals = []
    hidden = 0
    for p in saved.get("proposals", []):
        if is_dismissed(p, dismissals):
            hidden += 1
            continue
        first, last = _months(p["dates"])
        proposals.append({**p, "count": len(p["slugs"]), "first": first, "last": last})
    return Shown(
        proposals=proposals, computed=saved.get("computed"), current=fresh,
        refreshing=refreshing, failed=refresh_failed(), considered=saved.get("considered", 0),
        untagged=saved.get("untagged", 0), limit=saved.get("limit", 0), dismissed=hidden,
        with_tagged=with_tagged,
    )  # fmt: skip


def find(store: Store, proposal_id: str) -> dict[str, Any] | None:
    """One shown proposal by its id (of either page), or None (recomputed away, or dismissed)."""
    for with_tagged in (False, True):
        shown = current(store, start=False, with_tagged=with_tagged)
        found = next((p for p in shown.proposals if p["id"] == proposal_id), None)
        if found is not None:
            return found
    return None


def dismiss(store: Store, proposal: dict[str, Any], by: str, theme: str | None = None) -> None:
    """Hide a proposal until new entries join it (also once made into `theme`, so the saved
    proposals, computed before its entries were tagged, no longer show it)."""
    store.table(TABLE).insert(
        {"slugs": list(proposal["slugs"]), "name": proposal["name"], "dismissed": stamp(),
         "by": by, "theme": theme}
    )  # fmt: skip


def rising(store: Store, end: datetime.date) -> list[dict[str, Any]]:
    """Shown proposals whose entries grew: the last 90 days up to `end` against the 90 before
    (the dashboard's rule for themes), most recent entries first. Reads the saved proposals
    only: a refresh is started by /themes/discover, not by every dashboard view."""
    previous_start, recent_start, last = stats.trend_marks(end)
    out = []
    for p in current(store, start=False).proposals:
        recent = sum(recent_start < d <= last for d in p["dates"])
        previous = sum(previous_start < d <= recent_start for d in p["dates"])
        if stats.is_rising(recent, previous):
            out.append({**p, "recent": recent, "previous": previous})
    return sorted(out, key=lambda p: (-p["recent"], p["name"]))
