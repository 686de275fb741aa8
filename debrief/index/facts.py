"""An in-memory copy of every entry's header facts: fast filters and facet counts for the index.

Counting facets in SQL costs about a microsecond per matching row and facet; over thousands of
matches that alone blows the search budget. Python's Counter over lists indexed by entry
id is several times faster. The copy stays correct cheaply because an index row never changes
under its id: an update deletes the row and inserts a new one under a new, larger id
(AUTOINCREMENT), so refreshing means loading the rows above the largest id seen, and a rebuild
changes the index's generation, which starts the copy afresh.
"""

from __future__ import annotations

import sqlite3
import sys
import threading
from collections import Counter
from dataclasses import dataclass
from itertools import chain
from operator import attrgetter
from typing import NamedTuple

FACETS = ("kind", "theme", "reason", "competitor", "rep")
FACET_LIMIT = 50
FACT_COLUMNS = (
    "id, slug, date, kind, rep, competitor, outcome, themes, prospect_reasons, rep_reasons,"
    " trust, deal"
)


class Fact(NamedTuple):
    """The header facts of one indexed entry (lists as tuples: shared, so never mutated)."""

    # A NamedTuple, not a frozen dataclass: one per entry is built when a process first searches,
    # and a frozen dataclass's __init__ is about ten times slower.
    slug: str
    date: str
    kind: str
    rep: str | None
    competitor: str | None
    outcome: str | None
    themes: tuple[str, ...]
    prospect_reasons: tuple[str, ...]
    rep_reasons: tuple[str, ...]
    reasons: tuple[str, ...]
    trust: int | None
    deal: int | None
    # Every (facet, value) of this entry as small ints, for counting: those of its kind,
    # competitor and rep, and those of its themes and reasons. Two tuples, each shared by
    # every entry with the same values: one tuple per entry cost more than the rest of a Fact.
    own: tuple[int, ...] = ()
    codes: tuple[int, ...] = ()

    def as_dict(self) -> dict:
        """The fact as a fresh dict with list values (what SearchIndex.facts() hands out)."""
        return {
            "slug": self.slug,
            "date": self.date,
            "kind": self.kind,
            "rep": self.rep,
            "competitor": self.competitor,
            "outcome": self.outcome,
            "themes": list(self.themes),
            "prospect_reasons": list(self.prospect_reasons),
            "rep_reasons": list(self.rep_reasons),
            "trust": self.trust,
            "deal": self.deal,
        }


def _tuple(value: str | None) -> tuple[str, ...]:
    """A stored comma-joined list as a tuple (of shared strings: the same few values repeat)."""
    return tuple(map(sys.intern, value.split(","))) if value else ()


# (facet, value) <-> small int, process-wide and append-only: counting ints is cheaper than
# counting strings or tuples, and one Counter pass covers all five facets.
_CODES: dict[tuple[str, str], int] = {}
_LABELS: list[tuple[str, str]] = []
_CODES_LOCK = threading.Lock()


def _code(facet: str, value: str) -> int:
    """The int standing for one facet value."""
    key = (facet, value)
    code = _CODES.get(key)
    if code is None:
        with _CODES_LOCK:
            code = _CODES.get(key)
            if code is None:
                _LABELS.append(key)
                code = _CODES[key] = len(_LABELS) - 1
    return code


# Stored list strings repeat a lot (the same themes, the same reasons): parse each one once.
_LISTS: dict[tuple[str, str, str], tuple] = {}


def _lists(themes: str, pros: str, reps: str) -> tuple:
    """(themes, prospect_reasons, rep_reasons, reasons, codes of themes and reasons), memoized."""
    key = (themes, pros, reps)
    found = _LISTS.get(key)
    if found is None:
        themes_t, pros_t, reps_t = _tuple(themes), _tuple(pros), _tuple(reps)
        reasons = tuple(dict.fromkeys(pros_t + reps_t))
        codes = tuple(_code("theme", t) for t in themes_t if t)
        codes += tuple(_code("reason", r) for r in reasons if r)
        found = (themes_t, pros_t, reps_t, reasons, codes)
        if len(_LISTS) > 100_000:
            _LISTS.clear()  # a bound, not a policy: combinations are few in practice
        _LISTS[key] = found
    return found


_new_tuple = tuple.__new__

# Every row read from SQLite brings new str objects, though the entries share a few hundred
# dates, kinds, reps, vendors and outcomes, and a few hundred combinations of the last three:
# one shared copy of each keeps the process's resident memory down (BENCHMARKS.md).
_SHARED: dict[str | None, str | None] = {}
_OWN_CODES: dict[tuple, tuple[int, ...]] = {}


def _shared(value: str | None) -> str | None:
    """The one kept copy of a repeated value."""
    return _SHARED.setdefault(value, value)


def fact_from_row(row: tuple) -> Fact:
    """A Fact from the FACT_COLUMNS of one entry row (without the id)."""
    slug, date, kind, rep, competitor, outcome, themes, pros, reps, trust, deal = row
    themes_t, pros_t, reps_t, reasons, codes = _lists(themes or "", pros or "", reps or "")
    if len(_SHARED) > 100_000 or len(_OWN_CODES) > 100_000:
        _SHARED.clear()  # bounds, not policies: repeated values are few in practice
        _OWN_CODES.clear()
    date, kind, rep = _shared(date), _shared(kind), _shared(rep)
    competitor, outcome = _shared(competitor), _shared(outcome)
    key = (kind, competitor, rep)
    own = _OWN_CODES.get(key)
    if own is None:
        own = _OWN_CODES[key] = tuple(
            _code(f, v) for f, v in (("kind", kind), ("competitor", competitor), ("rep", rep)) if v
        )
    # tuple.__new__ skips NamedTuple's Python-level __new__: this runs per entry on a cold start.
    return _new_tuple(Fact, (slug, date, kind, rep, competitor, outcome, themes_t, pros_t, reps_t,
                             reasons, trust, deal, own, codes))  # fmt: skip


@dataclass(frozen=True)
class Filters:
    """The search filters; empty values mean 'any'. Dates are YYYY-MM-DD strings."""

    kind: str | None = None
    theme: str | None = None
    reason: str | None = None
    competitor: str | None = None
    rep: str | None = None
    date_from: str | None = None
    date_to: str | None = None

    def __bool__(self) -> bool:
        return any(getattr(self, name) for name in self.__dataclass_fields__)

    def accepts(self, fact: Fact) -> bool:
        """Whether one entry passes every filter (reason matches prospect or rep reasons)."""
        return (
            (not self.kind or fact.kind == self.kind)
            and (not self.competitor or fact.competitor == self.competitor)
            and (not self.rep or fact.rep == self.rep)
            and (not self.theme or self.theme in fact.themes)
            and (not self.reason or self.reason in fact.reasons)
            and (not self.date_from or fact.date >= self.date_from)
            and (not self.date_to or fact.date <= self.date_to)
        )

    def select(self, ids: list[int], facts: dict[int, Fact]) -> list[int]:
        """The ids that are known and pass the filters, in their order."""
        if not self:
            return [i for i in ids if i in facts]
        accepts = self.accepts
        return [i for i in ids if (f := facts.get(i)) is not None and accepts(f)]


def count_codes(facts: list[Fact]) -> Counter:
    """How often each facet value (as its code) occurs among the given entries."""
    # Two C-level passes over small ints: this runs over every match of a search.
    counts = Counter(chain.from_iterable(map(attrgetter("own"), facts)))
    counts.update(chain.from_iterable(map(attrgetter("codes"), facts)))
    return counts


def count_facets(facts: list[Fact]) -> dict[str, list[tuple[str, int]]]:
    """Facet value counts over the given entries, most frequent first, ties by value."""
    return facets_from_codes(count_codes(facts))


def facets_from_codes(counts: Counter) -> dict[str, list[tuple[str, int]]]:
    """The facet lists of count_facets from a count_codes Counter."""
    out: dict[str, list[tuple[str, int]]] = {facet: [] for facet in FACETS}
    for code, n in counts.items():
        facet, value = _LABELS[code]
        out[facet].append((value, n))
    for facet in FACETS:
        out[facet].sort(key=lambda item: (-item[1], item[0]))
        del out[facet][FACET_LIMIT:]
    return out


class FactCache:
    """Entry id -> Fact for one SearchIndex, shared by its threads, refreshed incrementally."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._generation: str | None = None
        self._max_id = 0
        self._facts: dict[int, Fact] = {}

    def refresh(self, conn: sqlite3.Connection, generation: str) -> dict[int, Fact]:
        """Bring the copy up to the connection's snapshot; returns id -> Fact (do not mutate)."""
        with self._lock:
            if generation != self._generation:
                self._generation, self._max_id, self._facts = generation, 0, {}
            top = conn.execute("SELECT max(id) FROM entry").fetchone()[0] or 0
            if top > self._max_id:
                rows = conn.execute(
                    f"SELECT {FACT_COLUMNS} FROM entry WHERE id > ?",  # noqa: S608 - constants
                    (self._max_id,),
                )
                # Added in place, not to a copy: readers only look up ids of their own snapshot
                # (nothing iterates this dict; compact() replaces it whole), and copying every
                # entry's facts for each answer, in every worker, is what this avoids.
                facts = self._facts
                for row in rows:
                    facts[row[0]] = fact_from_row(row[1:])
                self._max_id = top
            return self._facts

    def compact(self, live_ids: list[int]) -> None:
        """Forget deleted ids once they pile up (every update leaves one behind)."""
        with self._lock:
            if len(self._facts) > 2 * len(live_ids) + 1000:
                # Ids above the snapshot's largest may be newer rows another thread loaded.
                live, top = set(live_ids), max(live_ids, default=0)
                self._facts = {i: f for i, f in self._facts.items() if i in live or i > top}
