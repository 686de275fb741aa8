"""The survey link's states: open, opened, answered, opted out, expired."""

from __future__ import annotations

import logging
from typing import Any

from debrief.deals import invitations
from debrief.store import Store

log = logging.getLogger("debrief.survey")

# States in which a link still shows the form (failed: a later mail bounced, the link works).
OPEN_STATUSES = ("pending", "sent", "opened", "failed")


def link_state(store: Store, invitation: dict[str, Any]) -> str:
    """What the link shows now: 'open', 'answered', 'opted-out' or 'expired' (recorded once)."""
    status = invitation["status"]
    if status in ("answered", "opted-out"):
        return status
    if invitations.is_expired(invitation):
        if status != "expired":
            invitations.record_event(
                store, invitation["id"], "expired", status="expired", only_from=OPEN_STATUSES
            )
        return "expired"
    return "open"


def mark_opened(store: Store, invitation: dict[str, Any]) -> None:
    """Record the first opening of the form (later views add nothing: refreshes are noise)."""
    if invitation["status"] != "opened":
        try:
            invitations.record_event(
                store,
                invitation["id"],
                "opened",
                status="opened",
                only_from=OPEN_STATUSES,
                opened_at=invitations.stamp(),
            )
        except OSError as exc:
            # A full or read-only disk: the buyer still gets the form (the answer itself then
            # gets the clear 503); only the funnel's "opened" count misses this one.
            log.warning("opening of invitation %s not recorded: %s", invitation["id"], exc)


def opt_out(store: Store, invitation: dict[str, Any]) -> None:
    """Never mail this address again, and close the invitation unless it is already answered."""
    invitations.suppress(store, invitation.get("email"), reason="opted out from the survey link")
    if invitation["status"] in ("answered", "opted-out"):
        return
    invitations.record_event(
        store,
        invitation["id"],
        "opted-out",
        status="opted-out",
        only_from=(*OPEN_STATUSES, "expired"),
    )


def close_link(store: Store, invitation_id: int) -> bool:
    """Mark the link answered; False if it expired or was opted out instead.

    An "answered" status set by someone else is this answer's too (one answer per invitation):
    the retry of a cut-off submit, or a repair, finishing it first.
    """
    for _ in range(5):  # another event (the form opened in a second tab) can slip in between
        won = invitations.record_event(
            store,
            invitation_id,
            "answered",
            status="answered",
            only_from=OPEN_STATUSES,
            answered_at=invitations.stamp(),
        )
        if won is not None:
            return True
        current = store.table("invitations").get(invitation_id)
        if current is None or current["status"] not in OPEN_STATUSES:
            return current is not None and current["status"] == "answered"
    return False
