"""A rep's home page: answers since the last visit, deals still waiting, lessons still to write.

"Since the last visit" is kept per account in the `home_visits` table: the time of the latest look
at the home page (`last`) and where the current visit's "new" starts (`since`). A visit is a run
of looks less than VISIT_GAP apart, so coming back from a deal's page, or a reload, keeps the new
answers marked; after a longer break they count as seen. Not a field on the account: every users
change invalidates the labels and the dashboard's cached counts. Not the sign-in session: a rep
who never signs out would never get past "new".
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from debrief.deals import invitations, service
from debrief.store import Store, now, stamp

log = logging.getLogger(__name__)

VISIT_GAP = timedelta(minutes=30)
RECORD_EVERY = timedelta(minutes=1)  # a reload does not rewrite the record each time
WAITING = ("sent", "opened")  # invited and not answered; expired links are left out
SHOWN = 20  # rows per list; the deals page has the rest


@dataclass
class Home:
    """What a rep's home page lists, each row {deal, invitation, answered}."""

    since: str | None  # new answers are those after this stamp (None: the first visit)
    new_answers: list[dict[str, Any]] = field(default_factory=list)
    waiting: list[dict[str, Any]] = field(default_factory=list)
    to_write: list[dict[str, Any]] = field(default_factory=list)


def visit(store: Store, user: dict[str, Any], moment: datetime | None = None) -> str | None:
    """Record a look at the home page; the stamp this visit's new answers are counted from."""
    moment = moment or now()
    table = store.table("home_visits")
    record = table.find_one("user_id", user["id"])
    try:
        if record is None:
            first = {"user_id": user["id"], "last": stamp(moment), "since": None}
            table.insert_unique(first, "user_id")
            return None
        gone = moment - datetime.fromisoformat(record["last"])
        if gone >= VISIT_GAP:
            table.update(record["id"], {"last": stamp(moment), "since": record["last"]})
            return record["last"]
        if gone >= RECORD_EVERY:
            table.update(record["id"], {"last": stamp(moment)})
    except OSError:
        # A full or read-only disk: reading goes on, the look is simply not remembered.
        log.exception("cannot record the home visit of account %s", user["id"])
    return record["since"] if record else None


def answered_at(invitation: dict[str, Any]) -> str:
    """When the buyer answered (the stamp, else the answered event's time)."""
    events = [e["at"] for e in invitation.get("events") or [] if e.get("what") == "answered"]
    return invitation.get("answered_at") or (events[-1] if events else "")


def rep_home(
    store: Store, user: dict[str, Any], since: str | None, has_lesson: Callable[[int], bool]
) -> Home:
    """The rep's three lists; has_lesson(deal_id) says whether they wrote a lesson on it."""
    home = Home(since=since)
    for deal in service.deals_of_rep(store, user["id"]):
        # One look-up per deal of this rep, through the store's index: reading every
        # invitation (all()) on each view of the home page parsed the whole table again.
        invitation = invitations.for_deal(store, deal["id"])
        if invitation is None:
            continue
        row = {"deal": deal, "invitation": invitation, "answered": answered_at(invitation)}
        if invitation["status"] == "answered":
            if since is None or row["answered"] > since:
                home.new_answers.append(row)
            if not has_lesson(deal["id"]):
                home.to_write.append(row)
        elif invitation["status"] in WAITING and not invitations.is_expired(invitation):
            home.waiting.append(row)
    home.new_answers.sort(key=lambda r: r["answered"], reverse=True)
    home.to_write.sort(key=lambda r: r["answered"], reverse=True)
    home.waiting.sort(key=lambda r: r["invitation"]["expires_at"])
    return home
