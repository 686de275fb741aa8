"""What one person's weekly digest holds, from the search index and the store (no mail here).

A rep gets the new lessons and debriefs whose competitor or reasons match those of the rep's own
deals; a manager gets the rising themes and the week's answers. Anonymity (SPEC 2.3): an entry is
shown by its title and link only (an anonymous debrief's title names no deal or company), never
with a deal number, company or rep, and the week's answers are named by outcome and reason.
"""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from debrief.deals import service as deals
from debrief.entries import slugify
from debrief.index import KnowledgeBase
from debrief.kb import learned
from debrief.kb import service as kb
from debrief.store import Store
from debrief.survey import answers
from debrief.survey.answer_entry import rep_reasons
from debrief.taxonomy import outcome_label, reason_label
from debrief.themes import dashboard

WINDOW_DAYS = 7  # "new": dated from the same weekday last week up to today
MAX_ENTRIES = 20  # a digest is read in a minute; the rest is one link to /kb away


@dataclass
class Item:
    """An entry in a digest: its title, address and what of the reader's deals it matched."""

    slug: str
    title: str
    kind: str
    date: str
    about: list[str] = field(default_factory=list)  # names as people read them


@dataclass
class Rising:
    """A rising theme: its name and slug, its count in the last 90 days and in the 90 before."""

    name: str
    slug: str
    recent: int
    previous: int


@dataclass
class Answered:
    """One of the week's answers, named by outcome and main reason only."""

    summary: str
    slug: str | None


@dataclass
class Digest:
    """One person's digest for a week; empty when there is nothing new to tell."""

    since: datetime.date
    today: datetime.date
    entries: list[Item] = field(default_factory=list)
    more: int = 0  # matching entries left out beyond MAX_ENTRIES
    rising: list[Rising] = field(default_factory=list)
    answers: list[Answered] = field(default_factory=list)
    by_reason: list[tuple[str, int]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.entries or self.rising or self.answers)


def window(today: datetime.date) -> datetime.date:
    """The first day that counts as new for a digest sent on `today`."""
    return today - datetime.timedelta(days=WINDOW_DAYS)


def deal_filters(store: Store, user_id: int) -> dict[tuple[str, str], str]:
    """(facet, slug) -> name, for the competitors and reasons of the rep's own deals."""
    wanted: dict[tuple[str, str], str] = {}
    for deal in deals.deals_of_rep(store, user_id):
        name = (deal.get("competitor") or "").strip()
        # A name the slugs cannot spell (no Latin letter) would filter nothing: it would match
        # every entry of the week instead of none.
        if slugify(name):
            wanted.setdefault(("competitor", slugify(name)), name)
        for reason in rep_reasons(deal):
            wanted[("reason", reason)] = reason_label(reason)
    return wanted


def for_rep(
    store: Store, knowledge: KnowledgeBase, user: dict[str, Any], today: datetime.date
) -> Digest:
    """The week's entries by others that share a competitor or reason with the rep's deals."""
    digest = Digest(since=window(today), today=today)
    wanted = deal_filters(store, user["id"])
    since, until = digest.since.isoformat(), today.isoformat()
    found = [
        Item(hit.slug, hit.title, hit.kind, hit.date, list(dict.fromkeys(map(wanted.get, by))))
        for hit, by in learned.sharing(knowledge, wanted, 100, since, until).values()
        # Not the rep's own lesson, nor the debrief of a deal they were told about.
        if (hit.rep or "").lower() != user["email"].lower()
    ]
    ordered = sorted(found, key=lambda i: (i.date, i.slug), reverse=True)
    digest.entries, digest.more = ordered[:MAX_ENTRIES], max(len(ordered) - MAX_ENTRIES, 0)
    return digest


def for_manager(store: Store, today: datetime.date) -> Digest:
    """The rising themes (as the dashboard marks them) and the answers of the week."""
    digest = Digest(since=window(today), today=today)
    board = dashboard.build(store, dashboard.default_filters(None, today.isoformat(), None, today))
    digest.rising = [
        Rising(board.theme_name(t.theme), t.theme, t.recent, t.previous) for t in board.rising
    ]
    first, last = digest.since.isoformat(), today.isoformat()
    week = [a for a in answers.every(store) if first <= (a.get("submitted") or "")[:10] <= last]
    week.sort(key=lambda a: a["submitted"], reverse=True)
    digest.answers = [
        Answered(
            f"{outcome_label(a['outcome'])}, mainly {reason_label(a['reason'])}",
            a.get("entry_slug"),
        )
        for a in week
    ]
    reasons = Counter(reason_label(a["reason"]) for a in week)
    digest.by_reason = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    return digest


def kind_label(kind: str) -> str:
    """The label of a kind ("Lesson" or "Debrief"), as the knowledge base shows it."""
    return kb.labeller()("kind", kind)
