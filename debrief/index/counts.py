"""The dashboard's entry counts: header columns counted in SQL (no Python pass per entry),
counted afresh or moved to a later day.

A full count is two scans of the entry table. The counts of each scope are kept (entry_counts.py)
and the entries added since (by id) are counted onto them; but the default scope ends today, so
the first view of each day would find none for its scope. Moving yesterday's counts (same first
day and rep, same month) to today changes little: an entry's trend window changes only if its
date lies between an old and a new window bound (three bands as wide as the days moved), and the
debriefs of the days added join the date scope. Those are counted by narrow queries (shift()).
"""

# SQL text here is assembled only from module constants, column names chosen in code and "?"
# placeholders; every value that comes from a user is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter

from debrief.index.database import Database, state
from debrief.index.entry_counts import EntryCounts

# A last day -> (the months shown, oldest first, as YYYY-MM; the trend windows' three bounds).
Calendar = Callable[[datetime.date], tuple[list[str], tuple[str, str, str]]]


@dataclass(frozen=True)
class Scope:
    """What the dashboard counts: entries of a date range (inclusive) and rep, and its calendar."""

    date_from: str | None
    date_to: str
    rep: str | None
    calendar: Calendar = field(compare=False)

    @property
    def key(self) -> tuple[str | None, str | None, str | None]:
        """The scope as a cache key (the calendar is the same for every scope of one app)."""
        return self.date_from, self.date_to, self.rep

    def windows(self, day: str) -> tuple[list[str], tuple[str, str, str]]:
        """The months shown and the trend windows' bounds when `day` is the last day."""
        return self.calendar(datetime.date.fromisoformat(day))


_MAIN = "substr({0}, 1, instr({0} || ',', ',') - 1)"  # up to the first comma
# The groupable columns of count_by: name -> SQL expression (constants only).
COUNT_COLUMNS = {
    "month": "substr(date, 1, 7)",
    "kind": "kind",
    "rep": "rep",
    "competitor": "competitor",
    "themes": "themes",
    "prospect_reasons": "prospect_reasons",
    "rep_reasons": "rep_reasons",
    "buyer_main": _MAIN.format("prospect_reasons"),  # the first listed reason is the main one
    "rep_main": _MAIN.format("rep_reasons"),
}


def id_range(db: Database) -> tuple[str, int, int]:
    """(generation, largest id, number of entries) in one snapshot, for incremental counts.

    Ids only grow (AUTOINCREMENT) until a rebuild, which changes the generation: counts kept
    for ids <= largest stay right while the entry count is theirs plus the rows added since.
    """
    with db.read() as conn:
        generation, _ = state(conn)
        top, count = conn.execute("SELECT max(id), count(*) FROM entry").fetchone()
    return generation, top or 0, count


def count_by(
    db: Database,
    columns: Sequence[str],
    *,
    date_from: str | None = None,
    date_to: str | None = None,
    kind: str | None = None,
    reps: Sequence[str] | None = None,
    marks: Sequence[str] = (),
    group: bool = True,
    ids: tuple[int, int] | None = None,
) -> list[tuple]:
    """(values of the columns..., [how many marks lie before the date,] entries) per group.

    columns are names of COUNT_COLUMNS; reps=None means any rep (an empty list matches none);
    dates inclusive. group=False returns the matching rows' values ungrouped (no count): when
    the groups are nearly as many as the rows, SQLite's sort for GROUP BY costs more than a
    Counter over the fetched columns. ids=(low, high): only low < id <= high.
    """
    if reps is not None and not reps:
        return []
    exprs = [COUNT_COLUMNS[name] for name in columns]  # KeyError: not a known column
    params: list = []
    if marks:
        exprs.append(" + ".join(["(date > ?)"] * len(marks)))
        params.extend(marks)
    where, values = _conditions(date_from, date_to, kind, reps, ids)
    params.extend(values)
    # NOT INDEXED: one sequential scan; through entry_rep or entry_kind the planner visits
    # rows in index order with a random lookup each, several times slower. A bare
    # count may use the indexes: entry_date covers a date range without reading rows.
    source = "entry NOT INDEXED" if exprs else "entry"
    sql = f"SELECT {', '.join([*exprs, 'count(*)'] if group else exprs)} FROM {source}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    if group and exprs:
        sql += " GROUP BY " + ", ".join(str(i) for i in range(1, len(exprs) + 1))
    with db.read() as conn:
        return conn.execute(sql, params).fetchall()


def _conditions(
    date_from: str | None,
    date_to: str | None,
    kind: str | None,
    reps: Sequence[str] | None,
    ids: tuple[int, int] | None,
) -> tuple[list[str], list]:
    """The WHERE conditions of count_by and their parameters."""
    low, high = ids if ids is not None else (None, None)
    pairs = [
        ("date >= ?", date_from),
        ("date <= ?", date_to),
        ("kind = ?", kind),
        ("id > ?", low),
        ("id <= ?", high),
    ]
    where = [sql for sql, value in pairs if value is not None]
    params = [value for _, value in pairs if value is not None]
    if reps is not None:
        where.append(f"rep IN ({', '.join('?' * len(reps))})")
        params.extend(reps)
    return where, params


# --- the dashboard's counts ---------------------------------------------------------------


def split(value: str | None) -> tuple[str, ...]:
    """A comma-joined list as the index stores it (facts.py reads it the same way)."""
    return tuple(value.split(",")) if value else ()


def theme_range(months: list[str], marks: tuple[str, str, str]) -> tuple[str, str]:
    """The dates whose themes are counted: the months shown and the trend windows."""
    return min(months[0] + "-01", marks[0]), months[-1] + "-31"


def _debriefs(
    db: Database, date_from: str | None, date_to: str, reps: list[str] | None, ids: tuple[int, int]
) -> tuple[Counter, Counter, Counter, Counter, int]:
    """(buyer, logged, mains, competitors, entries) over the dates: see EntryCounts."""
    scope = {"date_from": date_from, "date_to": date_to, "reps": reps, "ids": ids}
    # Counted by C-level Counters over the fetched columns: their combinations are nearly as
    # many as the rows, so SQLite's GROUP BY sort would cost more.
    debriefs = count_by(
        db,
        ("rep", "competitor", "prospect_reasons", "rep_reasons"),
        kind="debrief",
        group=False,
        **scope,
    )
    buyer = Counter(map(itemgetter(2), debriefs))
    logged = Counter(map(itemgetter(3), debriefs))
    # Main reasons from the distinct lists, far fewer than the rows (fewer strings made).
    main = {value: split(value)[:1] or ("",) for value in (*buyer, *logged)}
    mains = Counter(
        (rep, main[logged_][0], main[buyer_][0]) for rep, _, buyer_, logged_ in debriefs
    )
    entries = count_by(db, (), **scope)
    competitors = Counter(map(itemgetter(1), debriefs))
    return buyer, logged, mains, competitors, entries[0][0] if entries else 0


def count(
    db: Database, scope: Scope, reps: list[str] | None, now: tuple[str, int, int], low: int
) -> EntryCounts:
    """The counts of the entries with low < id <= now's top: two scans of the entry table."""
    generation, top, total = now
    ids = (low, top)
    months, marks = scope.windows(scope.date_to)
    # Themes: every entry of the rep in the 12 months shown (whatever the date filter), and in
    # which trend window it falls (see trend_marks).
    first, last = theme_range(months, marks)
    theme_rows = count_by(
        db, ("month", "themes"), date_from=first, date_to=last, reps=reps, marks=marks, ids=ids
    )
    buyer, logged, mains, competitors, entries = _debriefs(
        db, scope.date_from, scope.date_to, reps, ids
    )
    return EntryCounts(
        generation=generation,
        top=top,
        count=total,
        reps=reps,
        themes=Counter({(m, t, w): n for m, t, w, n in theme_rows}),
        buyer=buyer,
        logged=logged,
        mains=mains,
        competitors=competitors,
        entries=entries,
    )


def _day_after(day: str) -> str:
    """The day after a YYYY-MM-DD day, as YYYY-MM-DD."""
    return (datetime.date.fromisoformat(day) + datetime.timedelta(days=1)).isoformat()


def shift(db: Database, last: EntryCounts, old_to: str, scope: Scope) -> EntryCounts | None:
    """`last`, counted for the same first day and rep up to old_to, moved to scope.date_to.

    Still over the entries with ids up to last.top (the caller adds those since, and checks that
    none was deleted). None when the move is not a few days forward inside one month.
    """
    new_to = scope.date_to
    if not ((scope.date_from or "") <= old_to < new_to and old_to[:7] == new_to[:7]):
        return None
    months, new_marks = scope.windows(new_to)  # the same months as old_to's: same month
    _, old_marks = scope.windows(old_to)
    window = datetime.date.fromisoformat(new_marks[2]) - datetime.date.fromisoformat(new_marks[1])
    moved = datetime.date.fromisoformat(new_to) - datetime.date.fromisoformat(old_to)
    if moved >= window:
        return None  # the bands below would overlap
    first, last_day = theme_range(months, new_marks)
    if theme_range(months, old_marks)[0] != first:
        return None
    ids = (0, last.top)
    themes = Counter(last.themes)
    # A date in (old bound i, new bound i] was in window i + 1 and is now in window i.
    for window, (old, new) in enumerate(zip(old_marks, new_marks, strict=True)):
        start, end = max(_day_after(old), first), min(new, last_day)
        if start > end:
            continue
        rows = count_by(
            db, ("month", "themes"), date_from=start, date_to=end, reps=last.reps, ids=ids
        )
        for month, value, n in rows:
            themes[(month, value, window + 1)] -= n
            themes[(month, value, window)] += n
    buyer, logged, mains, competitors, entries = _debriefs(
        db, _day_after(old_to), new_to, last.reps, ids
    )
    return EntryCounts(
        generation=last.generation,
        top=last.top,
        count=last.count,
        reps=last.reps,
        themes=+themes,  # drops the groups that emptied
        buyer=last.buyer + buyer,
        logged=last.logged + logged,
        mains=last.mains + mains,
        competitors=last.competitors + competitors,
        entries=last.entries + entries,
    )
