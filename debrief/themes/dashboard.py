"""The manager's dashboard: entry counts from the knowledge base, the funnel from the store.

The entry side is KnowledgeBase.counts (a few GROUP BY queries, each one scan of the entry
table returning at most a few thousand groups; the engine keeps and saves them); the Python
passes of *stats.py run only over those groups. Each computed dashboard is kept per app and per
filters, and recomputed as soon as the data changes: the key holds every source table's change
counter and the knowledge base's version(), bumped by every index write in any process. The
funnel's counts are also saved for the next process (funnel_counts.py).
"""

from __future__ import annotations

import datetime
import threading
import time
from dataclasses import dataclass, field

from flask import current_app

from debrief.auth import users
from debrief.deals.service import get_deal
from debrief.index import Scope, get_kb
from debrief.index.counts import split
from debrief.kb import service as kb
from debrief.store import Store
from debrief.taxonomy import REASONS, reason_label
from debrief.themes import funnel_counts, funnel_stats, loss_stats, reason_stats, stats
from debrief.themes.service import theme_names


@dataclass
class Dashboard:
    """Every number the dashboard shows, for the given filters."""

    filters: stats.Filters
    end: datetime.date
    months: list[str]
    per_month: dict[str, list[int]]
    trends: list[stats.Trend]
    reasons: list[reason_stats.ReasonRow]
    agreement: reason_stats.AgreementReport
    competitors: list[tuple[str, int]]
    funnel: funnel_stats.Funnel
    funnel_by_month: dict[str, funnel_stats.Funnel]
    funnel_by_rep: dict[str, funnel_stats.Funnel]
    rep_names: dict[str, str] = field(default_factory=dict)
    theme_names: dict[str, str] = field(default_factory=dict)
    entries: int = 0
    losses: loss_stats.Losses = field(default_factory=loss_stats.Losses)  # deals lost in the dates

    def rep_name(self, email: str) -> str:
        """A rep's display name (the email for an unknown account, a dash for none)."""
        return self.rep_names.get((email or "").lower(), email or "–")

    def theme_name(self, slug: str) -> str:
        """A theme's name (the slug for a tag that is no theme record)."""
        return self.theme_names.get(slug, slug)

    @property
    def rising(self) -> list[stats.Trend]:
        """The rising themes only."""
        return [t for t in self.trends if t.rising]


def lost_reason_label(slug: str) -> str:
    """A buyer's main reason as people read it; "" stands for the deals with no answer yet."""
    return reason_label(slug) if slug else "No answer from the buyer"


def competitor_label(name: str) -> str:
    """A competitor as typed; "" stands for the deals where nobody named one."""
    return name or "None named"


def parse_day(value: str | None) -> datetime.date | None:
    """A YYYY-MM-DD string as a date, or None."""
    try:
        return datetime.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def default_filters(
    date_from: str | None, date_to: str | None, rep: str | None, today: datetime.date
) -> stats.Filters:
    """Filters with defaults: up to today, from the start of the 12th month back."""
    end = parse_day(date_to) or today
    start = parse_day(date_from) or datetime.date.fromisoformat(stats.last_months(end)[0] + "-01")
    return stats.Filters(start.isoformat(), end.isoformat(), (rep or "").lower() or None)


SOURCES = ("users", "deals", "invitations", "themes")
CACHE_SIZE = 32  # filter combinations kept per app
_cache_lock = threading.Lock()


def _data_stamp(store: Store) -> tuple:
    """Something that changes whenever any data the dashboard reads changes, in any process:
    each source table's change counter and the knowledge base's version."""
    return (*(store.table(name).version() for name in SOURCES), get_kb().version())


def build(store: Store, filters: stats.Filters) -> Dashboard:
    """The dashboard for the filters: from the cache while no data changed, else computed."""
    cache = current_app.extensions.setdefault("debrief.dashboard", {})
    key = (filters.date_from, filters.date_to, filters.rep)
    stamp = _data_stamp(store)
    now = time.monotonic()
    with _cache_lock:
        hit = cache.get(key)
        if hit and hit[0] == stamp:  # exact counters: no age limit needed as a safety net
            return hit[2]
    board = compute(store, filters)
    with _cache_lock:
        cache[key] = (stamp, now, board)
        while len(cache) > CACHE_SIZE:
            cache.pop(min(cache, key=lambda k: cache[k][1]))  # the oldest computed
    return board


def calendar(end: datetime.date) -> tuple[list[str], tuple[str, str, str]]:
    """The months shown and the trend windows' bounds of a dashboard ending on `end`."""
    return stats.last_months(end), stats.trend_marks(end)


def compute(store: Store, filters: stats.Filters) -> Dashboard:
    """Compute the dashboard for the filters (their date_to is the end of every window)."""
    accounts = users.list_users(store)
    emails = {u["id"]: u["email"] for u in accounts}
    end = datetime.date.fromisoformat(filters.date_to)
    months, marks = calendar(end)
    c = get_kb().counts(Scope(filters.date_from, filters.date_to, filters.rep, calendar))
    themes = {value: split(value) for _, value, _ in c.themes}
    window_day = {1: marks[1], 2: marks[2]}  # a stand-in day per window; 0 and 3 count in none
    total, by_month, by_rep_funnel = _funnel(store, filters, emails)
    return Dashboard(
        filters=filters,
        end=end,
        months=months,
        per_month=stats.themes_per_month_counts(
            ((month, themes[value], n) for (month, value, _), n in c.themes.items()), months
        ),
        trends=stats.theme_trends_counts(
            ((window_day.get(w, ""), themes[value], n) for (_, value, w), n in c.themes.items()),
            end,
        ),
        reasons=reason_stats.reason_table_counts(
            [(split(p), (), n) for p, n in c.buyer.items()]
            + [((), split(r), n) for r, n in c.logged.items()]
        ),
        agreement=reason_stats.agreement_counts(
            ((*key, n) for key, n in c.mains.items()), order=list(REASONS)
        ),
        competitors=reason_stats.competitor_counts(c.competitors.items()),
        funnel=total,
        funnel_by_month=by_month,
        funnel_by_rep=by_rep_funnel,
        rep_names={u["email"].lower(): u["name"] for u in accounts},
        theme_names=theme_names(store),
        entries=c.entries,
        losses=_losses(store, filters, emails),
    )


def _store_range(filters: stats.Filters) -> tuple[dict, str, str]:
    """The app's memory for the store-side counts, and the filters' dates as a text range."""
    memory = current_app.extensions.setdefault("debrief.funnel", {})
    return memory, filters.date_from or "", filters.date_to or "\uffff"


def _funnel(
    store: Store, filters: stats.Filters, emails: dict[int, str]
) -> tuple[funnel_stats.Funnel, dict[str, funnel_stats.Funnel], dict[str, funnel_stats.Funnel]]:
    """The funnel from its counts per month, rep and stage (funnel_counts.py)."""
    memory, start, end = _store_range(filters)
    sent = funnel_counts.sent_counts(store, current_app.config["DATA_DIR"], memory, start, end)
    return funnel_stats.funnel_counts(
        (
            (month, emails.get(rep_id, ""), reached, n)
            for (month, rep_id, reached), n in sent.items()
        ),
        stats.Filters(rep=filters.rep),
    )


def _losses(store: Store, filters: stats.Filters, emails: dict[int, str]) -> loss_stats.Losses:
    """The deals lost and their value, from the funnel's inputs (funnel_counts.loss_counts)."""
    memory, start, end = _store_range(filters)
    rows = funnel_counts.loss_counts(store, current_app.config["DATA_DIR"], memory, start, end)
    return loss_stats.loss_counts(((emails.get(rep, ""), *rest) for rep, *rest in rows), filters)


def reps(store: Store) -> list[tuple[str, str]]:
    """(email, name) of every account, for the rep filter."""
    return [(u["email"], u["name"]) for u in users.list_users(store)]


def cell_deals(
    store: Store, filters: stats.Filters, rep_reason: str, buyer_reason: str
) -> list[dict]:
    """The debriefs behind one matrix cell, with their deal's company and rep."""
    facts = stats.filter_facts(get_kb().facts(), filters)
    report = reason_stats.agreement(facts)
    names = {u["id"]: u["name"] for u in users.list_users(store)}
    rows = []
    for item in report.cells.get((rep_reason, buyer_reason), []):
        # An anonymous debrief names no deal in its file: managers find it through its answer.
        deal_id = item["deal"] if item["deal"] is not None else kb.answer_deal(item["slug"])
        deal = get_deal(store, deal_id) if deal_id is not None else None
        rows.append(
            {
                **item,
                "deal": deal_id,
                "company": deal.get("company") if deal else None,
                "rep": names.get(deal.get("rep_id")) if deal else None,
                "exists": deal is not None,
            }
        )
    return rows
