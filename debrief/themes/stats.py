"""The dashboard's numbers: plain functions over entry facts and invitations (no Flask, no I/O).

Entry facts are the dicts of `KnowledgeBase.facts()`: slug, date (YYYY-MM-DD), kind, rep (email),
competitor, outcome, themes, prospect_reasons, rep_reasons (main reason first), trust, deal.
Every function here takes data and returns numbers, so each is tested on hand-built data.

Each count also has a `*_counts` form over (key..., n) rows: the dashboard feeds those from SQL
GROUP BY results over the index (a few thousand rows), never from a Python pass over every
entry's facts. The per-fact functions are the same code given a weight of 1, so both agree.
"""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

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


# --- reasons and agreement ----------------------------------------------------------------------


def debriefs(facts: Iterable[dict]) -> list[dict]:
    """The entries that hold a buyer's answer."""
    return [f for f in facts if f["kind"] == "debrief"]


@dataclass
class ReasonRow:
    """One reason: how often buyers and reps named it as the main reason, and at all."""

    reason: str
    buyer_main: int = 0
    rep_main: int = 0
    buyer_any: int = 0
    rep_any: int = 0


def reason_table(facts: Iterable[dict]) -> list[ReasonRow]:
    """Reasons as buyers gave them beside reasons as reps logged them, on the same debriefs."""
    return reason_table_counts(
        (f["prospect_reasons"], f["rep_reasons"], 1) for f in debriefs(facts)
    )


def reason_table_counts(
    rows: Iterable[tuple[Sequence[str], Sequence[str], int]],
) -> list[ReasonRow]:
    """reason_table over (buyer's reasons, rep's reasons, number of debriefs) rows."""
    counts = {key: Counter() for key in ("buyer_main", "rep_main", "buyer_any", "rep_any")}
    for buyer, rep, n in rows:
        if buyer:
            counts["buyer_main"][buyer[0]] += n
            for reason in buyer:
                counts["buyer_any"][reason] += n
        if rep:
            counts["rep_main"][rep[0]] += n
            for reason in rep:
                counts["rep_any"][reason] += n
    reasons = set().union(*counts.values())
    rows = [ReasonRow(r, **{key: c[r] for key, c in counts.items()}) for r in reasons]
    return sorted(rows, key=lambda r: (-(r.buyer_main + r.rep_main), r.reason))


@dataclass
class Agreement:
    """How often the rep's main reason was the buyer's main reason."""

    agree: int = 0
    total: int = 0

    @property
    def rate(self) -> float | None:
        """agree / total, or None when no debrief has both reasons."""
        return self.agree / self.total if self.total else None


@dataclass
class AgreementReport:
    """Agreement overall and per rep, and the confusion matrix with the deals in each cell."""

    overall: Agreement = field(default_factory=Agreement)
    per_rep: dict[str, Agreement] = field(default_factory=dict)
    # (rep reason, buyer reason) -> the deals (or entry slugs when no deal) in that cell
    cells: dict[tuple[str, str], list[dict]] = field(default_factory=dict)
    rep_reasons: list[str] = field(default_factory=list)
    buyer_reasons: list[str] = field(default_factory=list)
    # (rep reason, buyer reason) -> how many debriefs (kept also when cells are not listed)
    sizes: dict[tuple[str, str], int] = field(default_factory=dict)

    def count(self, rep_reason: str, buyer_reason: str) -> int:
        """How many debriefs fall in one cell."""
        return self.sizes.get((rep_reason, buyer_reason), 0)


def agreement(facts: Iterable[dict], order: list[str] | None = None) -> AgreementReport:
    """Compare main reasons on every debrief that has both; `order` sorts the matrix axes."""
    cells: dict[tuple[str, str], list[dict]] = {}
    rows = []
    for fact in debriefs(facts):
        if not fact["prospect_reasons"] or not fact["rep_reasons"]:
            continue
        rep_main, buyer_main = fact["rep_reasons"][0], fact["prospect_reasons"][0]
        rows.append((fact.get("rep"), rep_main, buyer_main, 1))
        cell = cells.setdefault((rep_main, buyer_main), [])
        cell.append({"deal": fact.get("deal"), "slug": fact["slug"], "date": fact["date"]})
    report = agreement_counts(rows, order)
    report.cells = cells
    return report


def agreement_counts(
    rows: Iterable[tuple[str | None, str, str, int]], order: list[str] | None = None
) -> AgreementReport:
    """agreement over (rep, rep's main reason, buyer's main reason, n) rows; no cell lists."""
    report = AgreementReport()
    for rep, rep_main, buyer_main, n in rows:
        if not rep_main or not buyer_main:
            continue
        same = rep_main == buyer_main
        for tally in (report.overall, report.per_rep.setdefault(rep or "", Agreement())):
            tally.total += n
            tally.agree += n if same else 0
        key = (rep_main, buyer_main)
        report.sizes[key] = report.sizes.get(key, 0) + n
    rank = {slug: i for i, slug in enumerate(order or [])}

    def key(slug: str) -> tuple[int, str]:
        return (rank.get(slug, len(rank)), slug)

    report.rep_reasons = sorted({r for r, _ in report.sizes}, key=key)
    report.buyer_reasons = sorted({b for _, b in report.sizes}, key=key)
    report.per_rep = dict(sorted(report.per_rep.items()))
    return report


def competitors(facts: Iterable[dict]) -> list[tuple[str, int]]:
    """Competitors lost to (from debriefs), most frequent first."""
    return competitor_counts((f.get("competitor"), 1) for f in debriefs(facts))


def competitor_counts(rows: Iterable[tuple[str | None, int]]) -> list[tuple[str, int]]:
    """competitors over (competitor, debriefs) rows."""
    counts: Counter[str] = Counter()
    for name, n in rows:
        if name:
            counts[name] += n
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


# --- the deals lost and their value ------------------------------------------------------------


@dataclass
class ValueRow:
    """Deals lost for one reason or to one competitor ("" for none): how many, and their value."""

    label: str = ""
    deals: int = 0
    valued: int = 0  # the deals that have a value; the others count in deals but not in value
    value: float = 0.0

    @property
    def unvalued(self) -> int:
        """The deals without a value."""
        return self.deals - self.valued

    def add(self, deals: int, valued: int, value: float) -> None:
        """Count more deals, `valued` of them worth `value` in all."""
        self.deals += deals
        self.valued += valued
        self.value += value


@dataclass
class Losses:
    """The deals lost in the filters: in all, per buyer's main reason and per competitor."""

    total: ValueRow = field(default_factory=ValueRow)
    by_reason: list[ValueRow] = field(default_factory=list)  # "": the buyer has not answered
    by_competitor: list[ValueRow] = field(default_factory=list)  # "": no competitor named


def _name_key(name: str) -> str:
    """Competitor names that differ only in case or spacing are one competitor."""
    return " ".join(name.split()).casefold()


def _by_value(rows: Iterable[ValueRow]) -> list[ValueRow]:
    """Largest value first, then most deals; the "none" row last."""
    return sorted(rows, key=lambda r: (r.label == "", -r.value, -r.deals, r.label.casefold()))


def loss_counts(
    rows: Iterable[tuple[str | None, str | None, str | None, int, int, float]], filters: Filters
) -> Losses:
    """Losses over (rep email, buyer's main reason, competitor, deals, valued, value) rows.

    The rows are of the filters' dates already; the rep filter applies here. A competitor is
    shown as typed, in its most frequent spelling.
    """
    losses = Losses()
    reasons: dict[str, ValueRow] = {}
    competitors: dict[str, ValueRow] = {}
    spellings: dict[str, Counter] = defaultdict(Counter)
    for rep, reason, competitor, deals, valued, value in rows:
        if filters.rep and (rep or "").lower() != filters.rep.lower():
            continue
        losses.total.add(deals, valued, value)
        reasons.setdefault(reason or "", ValueRow(reason or "")).add(deals, valued, value)
        name = " ".join((competitor or "").split())
        key = _name_key(name)
        competitors.setdefault(key, ValueRow()).add(deals, valued, value)
        spellings[key][name] += deals
    for key, row in competitors.items():
        row.label = min(spellings[key].items(), key=lambda kv: (-kv[1], kv[0]))[0]
    losses.by_reason = _by_value(reasons.values())
    losses.by_competitor = _by_value(competitors.values())
    return losses


# --- the invitation funnel ----------------------------------------------------------------------


@dataclass
class Funnel:
    """Invitations sent, opened and answered; the response rate is answered / sent."""

    sent: int = 0
    opened: int = 0
    answered: int = 0

    @property
    def rate(self) -> float | None:
        """answered / sent, or None when nothing was sent."""
        return self.answered / self.sent if self.sent else None

    def add(self, invitation: dict) -> None:
        """Count one sent invitation at the furthest stage it reached."""
        self.add_stage(stage(invitation))

    def add_stage(self, reached: int, n: int = 1) -> None:
        """Count n sent invitations that reached the same stage (SENT, OPENED or ANSWERED)."""
        self.sent += n
        self.opened += n if reached >= OPENED else 0
        self.answered += n if reached >= ANSWERED else 0


SENT, OPENED, ANSWERED = 0, 1, 2


def stage(invitation: dict) -> int:
    """How far a sent invitation got: ANSWERED, OPENED or SENT."""
    if invitation.get("answered_at") or invitation.get("status") == "answered":
        return ANSWERED
    if invitation.get("opened_at") or invitation.get("status") == "opened":
        return OPENED
    return SENT


def sent_day(invitation: dict) -> str | None:
    """The day an invitation was first sent (YYYY-MM-DD), or None if it never was."""
    sent = invitation.get("sent_at")
    if not sent and invitation.get("status") in ("opened", "answered"):
        sent = invitation.get(
            "created"
        )  # an answered invitation was sent, whatever the record says
    return sent[:10] if sent else None


def funnel(
    invitations: Iterable[dict], rep_of_deal: dict[int, str], filters: Filters
) -> tuple[Funnel, dict[str, Funnel], dict[str, Funnel]]:
    """The funnel overall, per month sent and per rep (rep_of_deal: deal id -> rep email)."""
    rows = []
    for invitation in invitations:
        day = sent_day(invitation)
        if day is not None:
            rows.append((day, rep_of_deal.get(invitation.get("deal_id"), ""), stage(invitation), 1))
    return funnel_counts(rows, filters)


def funnel_counts(
    rows: Iterable[tuple[str, str, int, int]], filters: Filters
) -> tuple[Funnel, dict[str, Funnel], dict[str, Funnel]]:
    """funnel over (day sent, rep email, stage reached, invitations) rows."""
    total = Funnel()
    by_month: dict[str, Funnel] = defaultdict(Funnel)
    by_rep: dict[str, Funnel] = defaultdict(Funnel)
    for day, rep, reached, n in rows:
        if not filters.keeps(day, rep):
            continue
        for tally in (total, by_month[month_of(day)], by_rep[rep]):
            tally.add_stage(reached, n)
    return total, dict(sorted(by_month.items())), dict(sorted(by_rep.items()))


def percent(rate: float | None) -> str:
    """A rate as a whole percentage, or a dash when there is nothing to divide."""
    return "–" if rate is None else f"{round(rate * 100)}%"
