"""The manager's dashboard: gather entry facts, deals and invitations once, then compute it all.

Reads only the index's header facts and in-memory store tables: no entry file is opened and no
query runs per entry. Even so, one pass over 50k entries, deals and invitations in Python takes
far longer than the 200 ms budget (SPEC 4), so each computed dashboard is kept per app and per
filters, and recomputed as soon as the data changes: the key holds every source table's change
counter and the index files' size and mtime (every index write commits to its WAL file).
bench/dashboard.py measures it.
"""

from __future__ import annotations

import datetime
import os
import threading
import time
from dataclasses import dataclass, field

from flask import current_app

from debrief.auth import users
from debrief.kb import service as kb
from debrief.store import Store
from debrief.taxonomy import REASONS
from debrief.themes import stats
from debrief.themes.service import theme_names


@dataclass
class Dashboard:
    """Every number the dashboard shows, for the given filters."""

    filters: stats.Filters
    end: datetime.date
    months: list[str]
    per_month: dict[str, list[int]]
    trends: list[stats.Trend]
    reasons: list[stats.ReasonRow]
    agreement: stats.AgreementReport
    competitors: list[tuple[str, int]]
    funnel: stats.Funnel
    funnel_by_month: dict[str, stats.Funnel]
    funnel_by_rep: dict[str, stats.Funnel]
    rep_names: dict[str, str] = field(default_factory=dict)
    theme_names: dict[str, str] = field(default_factory=dict)
    entries: int = 0

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


def rep_of_deals(store: Store, emails: dict[int, str]) -> dict[int, str]:
    """deal id -> its rep's email, for the funnel."""
    return {d["id"]: emails.get(d.get("rep_id"), "") for d in store.table("deals").all()}


SOURCES = ("users", "deals", "invitations", "themes")
CACHE_SIZE = 32  # filter combinations kept per app
CACHE_AGE = 300.0  # seconds: a safety net should two index writes leave identical file stamps
_cache_lock = threading.Lock()


def _data_stamp(store: Store) -> tuple:
    """Something that changes whenever any data the dashboard reads changes, in any process."""
    db_path = str(kb.get_index().db_path)
    files = []
    for path in (db_path, db_path + "-wal"):
        try:
            st = os.stat(path)
            files.append((st.st_ino, st.st_size, st.st_mtime_ns))
        except OSError:
            files.append(None)
    return (*(store.table(name).version() for name in SOURCES), *files)


def build(store: Store, filters: stats.Filters) -> Dashboard:
    """The dashboard for the filters: from the cache while no data changed, else computed."""
    cache = current_app.extensions.setdefault("debrief.dashboard", {})
    key = (filters.date_from, filters.date_to, filters.rep)
    stamp = _data_stamp(store)
    now = time.monotonic()
    with _cache_lock:
        hit = cache.get(key)
        if hit and hit[0] == stamp and now - hit[1] < CACHE_AGE:
            return hit[2]
    board = compute(store, filters)
    with _cache_lock:
        cache[key] = (stamp, now, board)
        while len(cache) > CACHE_SIZE:
            cache.pop(min(cache, key=lambda k: cache[k][1]))  # the oldest computed
    return board


def compute(store: Store, filters: stats.Filters) -> Dashboard:
    """Compute the dashboard for the filters (their date_to is the end of every window)."""
    accounts = users.list_users(store)
    emails = {u["id"]: u["email"] for u in accounts}
    facts = kb.get_index().facts()
    end = datetime.date.fromisoformat(filters.date_to)
    by_rep = stats.filter_facts(facts, stats.Filters(rep=filters.rep))
    months = stats.last_months(end)
    in_range = stats.filter_facts(by_rep, filters)
    total, by_month, by_rep_funnel = stats.funnel(
        store.table("invitations").all(), rep_of_deals(store, emails), filters
    )
    return Dashboard(
        filters=filters,
        end=end,
        months=months,
        per_month=stats.themes_per_month(by_rep, months),
        trends=stats.theme_trends(by_rep, end),
        reasons=stats.reason_table(in_range),
        agreement=stats.agreement(in_range, order=list(REASONS)),
        competitors=stats.competitors(in_range),
        funnel=total,
        funnel_by_month=by_month,
        funnel_by_rep=by_rep_funnel,
        rep_names={u["email"].lower(): u["name"] for u in accounts},
        theme_names=theme_names(store),
        entries=len(in_range),
    )


def reps(store: Store) -> list[tuple[str, str]]:
    """(email, name) of every account, for the rep filter."""
    return [(u["email"], u["name"]) for u in users.list_users(store)]


def cell_deals(
    store: Store, filters: stats.Filters, rep_reason: str, buyer_reason: str
) -> list[dict]:
    """The debriefs behind one matrix cell, with their deal's company and rep."""
    facts = stats.filter_facts(kb.get_index().facts(), filters)
    report = stats.agreement(facts)
    names = {u["id"]: u["name"] for u in users.list_users(store)}
    rows = []
    for item in report.cells.get((rep_reason, buyer_reason), []):
        deal = store.table("deals").get(item["deal"]) if item["deal"] is not None else None
        rows.append(
            {
                **item,
                "company": deal.get("company") if deal else None,
                "rep": names.get(deal.get("rep_id")) if deal else None,
                "exists": deal is not None,
            }
        )
    return rows
