"""An in-memory copy of every entry's header facts: fast filters and facet counts for the index.

Counting facets in SQL costs about a microsecond per matching row and facet; over thousands of
matches that alone blows the search budget. Python's Counter over arrays indexed by entry
id is several times faster. The copy stays correct cheaply because an index row never changes
under its id: an update deletes the row and inserts a new one under a new, larger id
(AUTOINCREMENT), so refreshing means loading the rows above the largest id seen, and a rebuild
changes the index's generation, which starts the copy afresh.
"""

from __future__ import annotations

import sqlite3
import sys
import threading
from array import array
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, NamedTuple

FACETS = ("kind", "theme", "reason", "competitor", "rep")
FACET_LIMIT = 50
# The columns of FactTable.load, and (with the slug) of fact_dict.
TABLE_COLUMNS = (
    "id, date, kind, rep, competitor, outcome, themes, prospect_reasons, rep_reasons, trust, deal"
)
FACT_COLUMNS = "slug, " + TABLE_COLUMNS.removeprefix("id, ")


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


def fact_dict(row: tuple) -> dict:
    """The dashboard's dict of one entry from its FACT_COLUMNS."""
    slug, date, kind, rep, competitor, outcome, themes, pros, reps, trust, deal = row
    return {
        "slug": slug,
        "date": date,
        "kind": kind,
        "rep": rep,
        "competitor": competitor,
        "outcome": outcome,
        "themes": list(_tuple(themes)),
        "prospect_reasons": list(_tuple(pros)),
        "rep_reasons": list(_tuple(reps)),
        "trust": trust,
        "deal": deal,
    }


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


def facets_from_codes(counts: Counter) -> dict[str, list[tuple[str, int]]]:
    """Facet value lists, most frequent first, ties by value, from a Counter of codes."""
    out: dict[str, list[tuple[str, int]]] = {facet: [] for facet in FACETS}
    for code, n in counts.items():
        facet, value = _LABELS[code]
        out[facet].append((value, n))
    for facet in FACETS:
        out[facet].sort(key=lambda item: (-item[1], item[0]))
        del out[facet][FACET_LIMIT:]
    return out


def _day(date: str) -> int:
    """YYYY-MM-DD as the int YYYYMMDD (ordered as the strings are; 0 when malformed)."""
    digits = date[0:4] + date[5:7] + date[8:10]
    return int(digits) if len(digits) == 8 and digits.isdigit() else 0


class Own(NamedTuple):
    """A combination of the one-valued facts that entries share, and its facet codes."""

    kind: str
    competitor: str | None
    rep: str | None
    outcome: str | None
    codes: tuple[int, ...]


class Combos:
    """Values that many entries share, each kept once under a number (append-only), with the
    facet codes each stands for."""

    def __init__(self, codes: Callable[[Any], tuple[int, ...]]) -> None:
        self.values: list = []
        self.codes: list[tuple[int, ...]] = []
        self.numbers: dict = {}
        self._codes = codes

    def add(self, key: object, value: object) -> int:
        """The number of a value not seen before (numbers.get(key) was None)."""
        self.values.append(value)
        self.codes.append(self._codes(value))
        n = self.numbers[key] = len(self.values) - 1
        return n

    def having(self, accepts: Callable[[Any], bool]) -> set[int]:
        """The numbers of the values accepts() is true of."""
        return {n for n, value in enumerate(self.values) if accepts(value)}


_NONE = -(2**63)  # trust or deal not set
# Sort keys pack (date, id) into one int: ids stay far below 2**40 (a trillion rows).
_ID_BITS = 40


def _codes(facet: str, values: tuple[str, ...]) -> tuple[int, ...]:
    """The codes of a facet's values."""
    return tuple(_code(facet, v) for v in values if v)


class FactTable:
    """Every entry's header facts as columns indexed by entry id, for filters and facet counts.

    One array per field instead of an object per entry: a few bytes per entry, where a tuple
    per entry cost about 800 (BENCHMARKS.md). The values entries share are kept once (Combos),
    each entry holding their numbers: kind, competitor, rep and outcome as one combination;
    the themes, the prospect's reasons, the rep's reasons, and the set of both reasons (what
    the reason facet counts) each as a list. A facet count is a Counter over those numbers,
    spread over their codes afterwards. own[i] < 0: no entry has id i (deleted, or never used).
    """

    def __init__(self) -> None:
        self.day, self.own, self.deal = array("i"), array("i"), array("q")
        self.top = 0  # the largest id loaded (own[] past it is room to grow, all -1)
        self.themes, self.pros, self.reps, self.reasons = (array("i") for _ in range(4))
        self.trust = array("q")
        self.owns = Combos(attrgetter("codes"))
        self.theme_lists = Combos(lambda themes: _codes("theme", themes))
        self.pro_lists, self.rep_lists = Combos(lambda _: ()), Combos(lambda _: ())
        self.reason_sets = Combos(lambda reasons: _codes("reason", tuple(sorted(reasons))))
        self._days: dict[str, int] = {}
        self._dates: dict[int, str] = {}

    def _grow(self, size: int) -> None:
        """Room for ids below size (new ids read as no entry)."""
        grow = max(size - len(self.own), len(self.own) // 4, 1024)
        for column in (self.day, self.themes, self.pros, self.reps, self.reasons):
            column.extend(array("i", [0]) * grow)
        self.own.extend(array("i", [-1]) * grow)
        self.trust.extend(array("q", [_NONE]) * grow)
        self.deal.extend(array("q", [_NONE]) * grow)

    def load(self, rows: Iterable[tuple]) -> None:
        """Take in entry rows (TABLE_COLUMNS; each id once per table, in any order)."""
        owns, themes_of = self.owns.numbers, self.theme_lists.numbers
        pros_of, reps_of = self.pro_lists.numbers, self.rep_lists.numbers
        pairs: dict[tuple[int, int], int] = {}  # (prospect's, rep's) -> reason set, this load
        days = self._days
        # Runs once per entry on a process's first search: dict lookups inline, a value made
        # only the first time it is seen.
        for i, date, kind, rep, competitor, outcome, themes, pros, reps, trust, deal in rows:
            if i >= len(self.own):
                self._grow(i + 1)
            if i > self.top:
                self.top = i
            n = days.get(date)
            if n is None:
                n = days[date] = _day(date)
                self._dates[n] = date
            self.day[i] = n
            key = (kind, competitor, rep, outcome)
            o = owns.get(key)
            if o is None:
                o = self.owns.add(key, Own(*key, _codes_of_own(kind, competitor, rep)))
            self.own[i] = o
            t = themes_of.get(themes)
            if t is None:
                t = self.theme_lists.add(themes, _tuple(themes))
            p = pros_of.get(pros)
            if p is None:
                p = self.pro_lists.add(pros, _tuple(pros))
            r = reps_of.get(reps)
            if r is None:
                r = self.rep_lists.add(reps, _tuple(reps))
            both = pairs.get((p, r))
            if both is None:
                both = pairs[(p, r)] = self._reason_set(p, r)
            self.themes[i], self.pros[i], self.reps[i], self.reasons[i] = t, p, r, both
            self.trust[i] = _NONE if trust is None else trust
            self.deal[i] = _NONE if deal is None else deal

    def _reason_set(self, pros: int, reps: int) -> int:
        """The number of the set of reasons of a prospect's and a rep's lists."""
        reasons = frozenset(self.pro_lists.values[pros] + self.rep_lists.values[reps])
        found = self.reason_sets.numbers.get(reasons)
        return self.reason_sets.add(reasons, reasons) if found is None else found

    def known(self, ids: Iterable[int]) -> list[int]:
        """The ids that have facts, in their order."""
        own, size = self.own, len(self.own)
        return [i for i in ids if i < size and own[i] >= 0]

    def select(self, ids: Iterable[int], filters: Filters) -> list[int]:
        """The ids that are known and pass the filters, in their order (a reason filter matches
        prospect or rep reasons)."""
        if not filters:
            return self.known(ids)
        owns = self.owns.having(lambda o: (not filters.kind or o.kind == filters.kind)
                                and (not filters.competitor or o.competitor == filters.competitor)
                                and (not filters.rep or o.rep == filters.rep))  # fmt: skip
        themes = self.theme_lists.having(lambda t: not filters.theme or filters.theme in t)
        reasons = self.reason_sets.having(lambda r: not filters.reason or filters.reason in r)
        low = _day(filters.date_from) if filters.date_from else 0
        high = _day(filters.date_to) if filters.date_to else 99_999_999
        own, day, size = self.own, self.day, len(self.own)
        theme_of, reason_of = self.themes, self.reasons
        return [i for i in ids if i < size and own[i] in owns and theme_of[i] in themes
                and reason_of[i] in reasons and low <= day[i] <= high]  # fmt: skip

    def count(self, ids: Iterable[int]) -> Counter:
        """How often each facet value (as its code) occurs among the given (known) entries."""
        ids = ids if isinstance(ids, (list, array)) else list(ids)
        counts: dict[int, int] = {}
        get = counts.get  # a plain dict's get: Counter's missing-key path costs more
        # C-level passes over the numbers of shared values, then a few codes per value.
        for column, combos in ((self.own, self.owns), (self.themes, self.theme_lists),
                               (self.reasons, self.reason_sets)):  # fmt: skip
            codes = combos.codes
            for n, times in Counter(map(column.__getitem__, ids)).items():
                for code in codes[n]:
                    counts[code] = get(code, 0) + times
        return Counter(counts)

    def entries_from(self, low: int) -> int:
        """How many entries have an id of at least low (C-level passes, no SQL)."""
        end = self.top + 1  # past it every id reads as no entry
        return end - low - self.own[low:end].count(-1) if low < end else 0

    def key(self, i: int) -> int:
        """A sort key ordering entries by date, then id."""
        return (self.day[i] << _ID_BITS) + i

    def newest_first(self, ids: Iterable[int]) -> list[int]:
        """The ids newest first (by date, then id)."""
        return sorted(ids, key=self.key, reverse=True)

    def as_dict(self, i: int, slug: str) -> dict:
        """The entry's facts as a fresh dict with list values (what SearchIndex.facts() gives)."""
        own, trust, deal = self.owns.values[self.own[i]], self.trust[i], self.deal[i]
        return {
            "slug": slug,
            "date": self._dates[self.day[i]],
            "kind": own.kind,
            "rep": own.rep,
            "competitor": own.competitor,
            "outcome": own.outcome,
            "themes": list(self.theme_lists.values[self.themes[i]]),
            "prospect_reasons": list(self.pro_lists.values[self.pros[i]]),
            "rep_reasons": list(self.rep_lists.values[self.reps[i]]),
            "trust": None if trust == _NONE else trust,
            "deal": None if deal == _NONE else deal,
        }


# The facts of every entry with an id from `low` up (0: every entry), loaded as far as needed.
FactsFrom = Callable[[int], FactTable]


def _codes_of_own(kind: str, competitor: str | None, rep: str | None) -> tuple[int, ...]:
    """The facet codes of an entry's kind, competitor and rep."""
    return tuple(_code(f, v) for f, v in (("kind", kind), ("competitor", competitor),
                                          ("rep", rep)) if v)  # fmt: skip


class FactCache:
    """The FactTable of one SearchIndex, shared by its threads, refreshed incrementally.

    Loaded from the top down, as far as asked: a broad search needs the facts of its newest
    matches only, so a process's first search does not wait for every entry's facts (over a
    second at 250k); browsing, filters and the dashboard load the rest when they first need it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._generation: str | None = None
        self._low: int | None = None  # every id from here up to _max_id is loaded
        self._max_id = 0
        self._table = FactTable()

    def refresh(self, conn: sqlite3.Connection, generation: str, low: int = 0) -> FactTable:
        """Bring the table up to the connection's snapshot for every id >= low (0: every id);
        do not change what it returns."""
        with self._lock:
            if generation != self._generation:
                self._generation, self._low, self._max_id = generation, None, 0
                self._table = FactTable()
            top = conn.execute("SELECT max(id) FROM entry").fetchone()[0] or 0
            # Taken into the table in place, not into a copy: readers look up only ids of their
            # own snapshot, and copying every entry's facts for each answer, in every worker, is
            # what this avoids. A deleted id's facts stay (a few bytes; no snapshot that can see
            # the id again is ever read).
            if self._low is None:
                self._load(conn, "id >= ? AND id <= ?", (low, top))
                self._low, self._max_id = low, top
                return self._table
            if low < self._low:
                self._load(conn, "id >= ? AND id < ?", (low, self._low))
                self._low = low
            if top > self._max_id:
                self._load(conn, "id > ? AND id <= ?", (self._max_id, top))
                self._max_id = top
            return self._table

    def _load(self, conn: sqlite3.Connection, where: str, params: tuple) -> None:
        """Load the rows with ids in a range (`where`: a condition on id from this module)."""
        self._table.load(conn.execute(
            f"SELECT {TABLE_COLUMNS} FROM entry WHERE {where} ORDER BY id", params  # noqa: S608
        ))  # fmt: skip
