"""The engine's caches of search work, one policy: keyed by the index's (generation, version).

Each process keeps its own; none is a second copy of the truth that could go stale, because
each is checked against the index's state (one read of the `state` table, which every write of
any process bumps) before use. The invalidation rule of each is written beside it. The facts
table (facts.FactCache, columns by id) follows the same rule: a new generation empties it, new
ids are read.
"""

from __future__ import annotations

import threading
from operator import itemgetter
from pathlib import Path
from typing import NamedTuple

from debrief.index import counts, entry_counts
from debrief.index.database import Database
from debrief.index.entry_counts import EntryCounts, Key
from debrief.index.facts import Filters
from debrief.index.meaning import Plan
from debrief.index.results import Ranking
from debrief.lru import LRU

CACHE_SIZE = 64  # rankings kept per process
# Entry ids all kept rankings may hold together (Ranking.held; 8 bytes each in arrays): a broad
# search whose rest was read holds most of the entries' ids, so a count of rankings alone
# bounds nothing; one that ranked its newest matches alone holds a pool of them.
IDS_KEPT = 4_000_000


class Ranked(NamedTuple):
    """A cached ranking and the index state it was computed at."""

    state: tuple[str, int]  # (generation, version)
    ranking: Ranking
    top: int  # the largest entry id then
    count: int  # how many entries then


class Rankings:
    """The rankings of recent searches, by (query plan, filters), least recently used out.

    Bound: CACHE_SIZE rankings and IDS_KEPT ids, whichever is reached first.
    Invalidation: a ranking is used as it is only at the (generation, version) it was computed
    at. At a later version of the same generation it is advanced by the rows added since, when
    none was deleted (ids only grow); otherwise, or in a new generation (a rebuild), it is
    ranked anew. `lock` also guards a ranking's lazy sort of its unranked rest.
    """

    def __init__(self, size: int = CACHE_SIZE, ids: int = IDS_KEPT) -> None:
        """An empty cache of at most `size` rankings holding at most `ids` entry ids together
        (the one most recently used is kept whatever it holds)."""
        self.size = size
        self.ids = ids
        self.lock = threading.Lock()
        self._items: dict[tuple[Plan | None, Filters], Ranked] = {}

    def get(self, key: tuple[Plan | None, Filters]) -> Ranked | None:
        """The ranking kept for a search, of whatever state (the caller checks it), or None."""
        with self.lock:
            # Left in place (moved to most recent): another thread asking for the same search
            # meanwhile must find it too.
            cached = self._items.pop(key, None)
            if cached is not None:
                self._items[key] = cached
            return cached

    def put(self, key: tuple[Plan | None, Filters], ranked: Ranked) -> None:
        """Keep a ranking unless another thread already put one of a later state."""
        with self.lock:
            newest = self._items.pop(key, None)
            if (
                newest is None
                or newest.state[0] != ranked.state[0]
                or newest.state[1] <= ranked.state[1]
            ):
                newest = ranked
            self._items[key] = newest  # most recently used last
            held = sum(kept.ranking.held for kept in self._items.values())
            while len(self._items) > self.size or (held > self.ids and len(self._items) > 1):
                held -= self._items.pop(next(iter(self._items))).ranking.held

    def clear(self) -> None:
        """Forget every ranking."""
        with self.lock:
            self._items.clear()


class Pages(LRU):
    """The hits of recent result pages, by (generation, match expression, entry ids).

    Invalidation: none needed within a generation. An entry id is never reused (an edit gets a
    new one), so a page of ids always shows the same rows and snippets; a rebuild starts a new
    generation, so its keys are new.
    """

    def __init__(self, size: int = CACHE_SIZE * 4) -> None:
        """An empty cache of at most `size` pages."""
        super().__init__(size)


class EntryCountsCache:
    """The dashboard's entry counts per scope: the last few kept in the process, and saved for
    the next process (entry_counts.py) so a restarted app or a new worker does not count anew.

    Invalidation: counts apply to their index generation and to the entries with ids up to
    their `top` (ids only grow until a rebuild). The entries added since are counted onto them,
    provided the entry count shows no deletion (an update deletes its old row); after a
    deletion or a rebuild the scope is counted afresh. The counts of an earlier last day of the
    same first day and rep are moved to a later one (counts.shift) rather than counted anew.
    """

    def __init__(self, path: Path, size: int = 4) -> None:
        """Counts saved at `path`; `size` scopes kept in memory (each holds thousands of groups)."""
        self.path = path
        self.size = size
        self._lock = threading.Lock()
        self._kept: dict[Key, EntryCounts] = {}

    def get(self, db: Database, scope: counts.Scope) -> EntryCounts:
        """The entry counts of a scope: the last ones plus the entries added since, else new."""
        reps = _reps(db, scope.rep)
        now = counts.id_range(db)
        with self._lock:
            kept = dict(self._kept)
        last = kept.get(scope.key)
        fresh = False  # counts this process made for the scope, worth saving for the next one
        if last is None:
            saved = entry_counts.load(self.path)  # a restarted app: the last process's counts
            last = saved.get(scope.key)
            if last is None:  # e.g. the first view of a day: move an earlier day's counts
                last = _moved(db, scope, reps, now, {**saved, **kept})
                fresh = last is not None
        found = None
        if last and last.generation == now[0] and last.reps == reps and now[1] >= last.top:
            added = counts.count_by(db, (), ids=(last.top, now[1]))
            if last.count + (added[0][0] if added else 0) == now[2]:
                found = last.plus(counts.count(db, scope, reps, now, low=last.top))
        if found is None:
            found, fresh = counts.count(db, scope, reps, now, low=0), True
        if fresh:
            entry_counts.save(self.path, scope.key, found)
        with self._lock:
            self._kept.pop(scope.key, None)
            self._kept[scope.key] = found  # most recently used last
            while len(self._kept) > self.size:
                self._kept.pop(next(iter(self._kept)))
        return found


def _reps(db: Database, rep: str | None) -> list[str] | None:
    """The stored rep values the filter matches (None: any rep); compared like filter_facts."""
    if not rep:
        return None
    rows = db.conn().execute("SELECT DISTINCT rep FROM entry WHERE rep IS NOT NULL")
    # Compared here, not with SQL lower(): that folds ASCII only, Python's lower() all of Unicode.
    return [r for (r,) in rows if r.lower() == rep.lower()]


def _moved(
    db: Database, scope: counts.Scope, reps: list[str] | None,
    now: tuple[str, int, int], known: dict[Key, EntryCounts],
) -> EntryCounts | None:  # fmt: skip
    """The latest known counts of the same first day and rep, moved to the scope's last day."""
    earlier = [
        (key[1], found)
        for key, found in known.items()
        if key[0] == scope.date_from and key[2] == scope.rep and key[1] is not None
        and key[1] < scope.date_to and found.generation == now[0] and found.reps == reps
    ]  # fmt: skip
    if not earlier:
        return None
    old_to, last = max(earlier, key=itemgetter(0))
    return counts.shift(db, last, old_to, scope)
