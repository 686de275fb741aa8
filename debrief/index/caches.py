"""The engine's caches of search work, one policy: keyed by the index's (generation, version).

Each process keeps its own; none is a second copy of the truth that could go stale, because
each is checked against the index's state (one read of the `state` table, which every write of
any process bumps) before use. The invalidation rule of each is written beside it. The facts
table (facts.FactCache) follows the same rule: a new generation empties it, new ids are read.
"""

from __future__ import annotations

import threading
from typing import NamedTuple

from debrief.index.facts import Filters
from debrief.index.search import Ranking
from debrief.lru import LRU

CACHE_SIZE = 64  # rankings kept per process


class Ranked(NamedTuple):
    """A cached ranking and the index state it was computed at."""

    state: tuple[str, int]  # (generation, version)
    ranking: Ranking
    top: int  # the largest entry id then
    count: int  # how many entries then


class Rankings:
    """The rankings of recent searches, by (match expression, filters), least recently used out.

    Invalidation: a ranking is used as it is only at the (generation, version) it was computed
    at. At a later version of the same generation it is advanced by the rows added since, when
    none was deleted (ids only grow); otherwise, or in a new generation (a rebuild), it is
    ranked anew. `lock` also guards a ranking's lazy sort of its unranked rest.
    """

    def __init__(self, size: int = CACHE_SIZE) -> None:
        """An empty cache of at most `size` rankings."""
        self.size = size
        self.lock = threading.Lock()
        self._items: dict[tuple[str, Filters], Ranked] = {}

    def get(self, key: tuple[str, Filters]) -> Ranked | None:
        """The ranking kept for a search, of whatever state (the caller checks it), or None."""
        with self.lock:
            # Left in place (moved to most recent): another thread asking for the same search
            # meanwhile must find it too.
            cached = self._items.pop(key, None)
            if cached is not None:
                self._items[key] = cached
            return cached

    def put(self, key: tuple[str, Filters], ranked: Ranked) -> None:
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
            while len(self._items) > self.size:
                self._items.pop(next(iter(self._items)))

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
