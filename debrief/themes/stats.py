"""The dashboard's numbers: filters, months, themes per month and their trends (no Flask, no I/O).

The rest of them share this shape: reasons and agreement in reason_stats.py, the deals lost in
loss_stats.py, the invitation funnel in funnel_stats.py.

Entry facts are the dicts of `KnowledgeBase.facts()`: slug, date (YYYY-MM-DD), kind, rep (email),
competitor, outcome, themes, prospect_reasons, rep_reasons (main reason first), trust, deal.
Every function here takes data and returns numbers, so each is tested on hand-built data.

Each count also has a `*_counts` form over (key..., n) rows: the dashboard feeds those from SQL
GROUP BY results over the index (a few thousand rows), never from a Python pass over every
entry's facts. The per-fact functions are the same code given a weight of 1, so both agree.
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

RISING_WINDOW = 90  # days: the last 90 days against the 90 before
RISING_MIN = 2  # a theme seen once in 90 days is noise, not a trend
RISING_FACTOR = 1.5  # rising: at least 1.5 times the earlier count (and RISING_MIN)


@dataclass
class Filters:
    """Which facts count: a date range (inclusive, YYYY-MM-DD) and one rep's email."""

    date_from: str | None = None
    date_to: str | None = None
    rep: str | None = None

    def keeps(self, day: str | None, rep: str | None) -> bool:
        """Whether a dated, rep-owned item falls inside these filters."""
        if self.rep and (rep or "").lower() != self.rep.lower():
            return False
        if day is None:
            return not (self.date_from or self.date_to)
        if self.date_from and day < self.date_from:
            return False
        return not (self.date_to and day > self.date_to)


def filter_facts(facts: Iterable[dict], filters: Filters) -> list[dict]:
    """The facts inside the filters."""
    start, end, rep = (
        filters.date_from or "",
        filters.date_to or "\uffff",
        (filters.rep or "").lower(),
    )
    # Inlined rather than Filters.keeps: this loop runs over every entry of the knowledge base.
    return [
        f
        for f in facts
        if start <= f["date"] <= end and (not rep or (f["rep"] or "").lower() == rep)
    ]


# --- months and themes ------------------------------------------------------------------------


def month_of(day: str) -> str:
    """YYYY-MM of a YYYY-MM-DD (or ISO timestamp) string."""
    return day[:7]


def last_months(end: datetime.date, count: int = 12) -> list[str]:
    """The `count` months ending with end's month, oldest first, as YYYY-MM."""
    year, month = end.year, end.month
    out = []
    for _ in range(count):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


def themes_per_month(facts: Iterable[dict], months: list[str]) -> dict[str, list[int]]:
    """theme -> entries tagged with it in each of the months (themes seen in none are left out)."""
    return themes_per_month_counts(((f["date"], f["themes"], 1) for f in facts), months)


def themes_per_month_counts(
    rows: Iterable[tuple[str, Sequence[str], int]], months: list[str]
) -> dict[str, list[int]]:
    """themes_per_month over (day or month, themes, number of entries) rows."""
    position = {m: i for i, m in enumerate(months)}
    counts: dict[str, list[int]] = {}
    for day, themes, n in rows:
        i = position.get(month_of(day))
        if i is None:
            continue
        for theme in themes:
            counts.setdefault(theme, [0] * len(months))[i] += n
    return dict(sorted(counts.items(), key=lambda kv: (-sum(kv[1]), kv[0])))


def is_rising(recent: int, previous: int) -> bool:
    """A theme is rising when the recent count is at least RISING_MIN and 1.5x the earlier one."""
    return recent >= RISING_MIN and recent >= RISING_FACTOR * max(previous, 1)


@dataclass
class Trend:
    """One theme's count in the last window and the window before."""

    theme: str
    recent: int
    previous: int
    rising: bool


def theme_trends(
    facts: Iterable[dict], today: datetime.date, days: int = RISING_WINDOW
) -> list[Trend]:
    """Every theme's count in (today-days, today] and the `days` before; rising ones first."""
    return theme_trends_counts(((f["date"], f["themes"], 1) for f in facts), today, days)


def trend_marks(today: datetime.date, days: int = RISING_WINDOW) -> tuple[str, str, str]:
    """theme_trends' bounds: the windows are (first, second] (earlier) and (second, third]."""
    return (
        (today - datetime.timedelta(days=2 * days)).isoformat(),
        (today - datetime.timedelta(days=days)).isoformat(),
        today.isoformat(),
    )


def theme_trends_counts(
    rows: Iterable[tuple[str, Sequence[str], int]], today: datetime.date, days: int = RISING_WINDOW
) -> list[Trend]:
    """theme_trends over (day, themes, number of entries) rows."""
    previous_start, recent_start, end = trend_marks(today, days)
    recent: Counter[str] = Counter()
    previous: Counter[str] = Counter()
    for day, themes, n in rows:
        if recent_start < day <= end:
            tally = recent
        elif previous_start < day <= recent_start:
            tally = previous
        else:
            continue
        for theme in themes:
            tally[theme] += n
    trends = [
        Trend(t, recent[t], previous[t], is_rising(recent[t], previous[t]))
        for t in set(recent) | set(previous)
    ]
    return sorted(trends, key=lambda t: (not t.rising, -(t.recent - t.previous), t.theme))


def percent(rate: float | None) -> str:
    """A rate as a whole percentage, or a dash when there is nothing to divide."""
    return "–" if rate is None else f"{round(rate * 100)}%"
