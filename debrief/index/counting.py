"""The dashboard's raw entry counts from the index: counted afresh, or moved to a later day.

A full count is two scans of the entry table, ~100 ms at 50k entries of the dashboard's 200 ms
(SPEC 4). dashboard.py keeps and saves each filter combination's counts and adds the entries
added since (by id), but the default filters end today, so the first view of each day found no
counts for its filters and paid a full count, in every process. Moving yesterday's counts (same
first day and rep, same month) to today changes little: an entry's trend window changes only if
its date lies between an old and a new window bound (three bands as wide as the days moved),
and the debriefs of the days added join the date scope. Those are counted by narrow queries and
applied to the kept counts.
"""

from __future__ import annotations

import datetime
from collections import Counter
from operator import itemgetter

from debrief.index import SearchIndex
from debrief.index.entry_counts import EntryCounts
from debrief.themes import stats


def split(value: str | None) -> tuple[str, ...]:
    """A comma-joined list as the index stores it (facts.py reads it the same way)."""
    return tuple(value.split(",")) if value else ()


def theme_range(months: list[str], marks: tuple[str, str, str]) -> tuple[str, str]:
    """The dates whose themes are counted: the months shown and the trend windows."""
    return min(months[0] + "-01", marks[0]), months[-1] + "-31"


def _debriefs(
    index: SearchIndex, date_from: str, date_to: str, reps: list[str] | None, ids: tuple[int, int]
) -> tuple[Counter, Counter, Counter, Counter, int]:
    """(buyer, logged, mains, competitors, entries) over the dates: see EntryCounts."""
    scope = {"date_from": date_from, "date_to": date_to, "reps": reps, "ids": ids}
    # Counted by C-level Counters over the fetched columns: their combinations are nearly as
    # many as the rows, so SQLite's GROUP BY sort would cost more.
    debriefs = index.count_by(
        ("rep", "competitor", "prospect_reasons", "rep_reasons"),
        kind="debrief",
        group=False,
        **scope,
    )
    buyer = Counter(map(itemgetter(2), debriefs))
    logged = Counter(map(itemgetter(3), debriefs))
    # Main reasons from the ~1k distinct lists, not per row (fewer strings fetched and made).
    main = {value: split(value)[:1] or ("",) for value in (*buyer, *logged)}
    mains = Counter(
        (rep, main[logged_][0], main[buyer_][0]) for rep, _, buyer_, logged_ in debriefs
    )
    entries = index.count_by((), **scope)
    competitors = Counter(map(itemgetter(1), debriefs))
    return buyer, logged, mains, competitors, entries[0][0] if entries else 0


def count(
    index: SearchIndex, filters: stats.Filters, marks: tuple[str, str, str],
    months: list[str], reps: list[str] | None, state: tuple[str, int, int], low: int,
) -> EntryCounts:  # fmt: skip
    """The counts of the entries with low < id <= state's top: two scans of the entry table."""
    generation, top, total = state
    ids = (low, top)
    # Themes: every entry of the rep in the 12 months shown (whatever the date filter), and in
    # which trend window it falls (see trend_marks).
    first, last = theme_range(months, marks)
    theme_rows = index.count_by(
        ("month", "themes"), date_from=first, date_to=last, reps=reps, marks=marks, ids=ids
    )
    buyer, logged, mains, competitors, entries = _debriefs(
        index, filters.date_from, filters.date_to, reps, ids
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
    return (datetime.date.fromisoformat(day) + datetime.timedelta(days=1)).isoformat()


def shift(
    index: SearchIndex, last: EntryCounts, old_to: str, filters: stats.Filters
) -> EntryCounts | None:
    """`last`, counted for the same first day and rep up to old_to, moved to filters.date_to.

    Still over the entries with ids up to last.top (the caller adds those since, and checks that
    none was deleted). None when the move is not a few days forward inside one month.
    """
    new_to = filters.date_to
    if not ((filters.date_from or "") <= old_to < new_to and old_to[:7] == new_to[:7]):
        return None
    old_end, new_end = datetime.date.fromisoformat(old_to), datetime.date.fromisoformat(new_to)
    if (new_end - old_end).days >= stats.RISING_WINDOW:
        return None  # the bands below would overlap
    months = stats.last_months(new_end)  # the same as old_end's: same month
    old_marks, new_marks = stats.trend_marks(old_end), stats.trend_marks(new_end)
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
        rows = index.count_by(
            ("month", "themes"), date_from=start, date_to=end, reps=last.reps, ids=ids
        )
        for month, value, n in rows:
            themes[(month, value, window + 1)] -= n
            themes[(month, value, window)] += n
    buyer, logged, mains, competitors, entries = _debriefs(
        index, _day_after(old_to), new_to, last.reps, ids
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
