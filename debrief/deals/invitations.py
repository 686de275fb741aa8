"""Invitation records: tokens (stored only as hashes), lifecycle, events, the suppression list.

Sending mail is in `sending.py`; the buyer's form is in `debrief/survey/`. This module is the
one place that knows the invitation record and its states:

    pending -> sent -> opened -> answered        (or expired, opted-out, failed)

Each send or reminder issues a fresh token (a row in the `tokens` table: its SHA-256 and the
invitation id), because the raw token exists only in the mail; every token of an invitation
works until the invitation is answered, expired or opted out.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from debrief.store import Store, now, stamp
from debrief.text import normalize_email

STATUSES = ("pending", "sent", "opened", "answered", "expired", "opted-out", "failed")
CLOSED = ("answered", "expired", "opted-out")
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


def new_token() -> str:
    """A URL-safe token of 192 random bits."""
    return secrets.token_urlsafe(24)


def hash_token(token: str) -> str:
    """The only form in which a token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_invitation(
    store: Store, deal: dict[str, Any], expiry_days: int
) -> dict[str, Any] | None:
    """A pending invitation for the deal's contact (one per deal: returns the existing one).

    None when the deal was removed meanwhile (an import undone, a delete): no invitation then.
    """
    existing = store.table("invitations").find_one("deal_id", deal["id"])
    if existing is not None:
        return existing
    record = {
        "deal_id": deal["id"],
        "email": deal.get("contact_email"),
        "status": "pending",
        "created": stamp(),
        "expires_at": stamp(now() + timedelta(days=expiry_days)),
        "personal_note": "",
        "events": [{"at": stamp(), "what": "created"}],
    }
    inv_id, created = store.table("invitations").insert_unique(record, "deal_id")
    # Deals are removed (imports.undo_import, service.delete_deal) under the deals table's lock,
    # with their invitations looked up there. Touching the deal under that lock, now that its
    # invitation exists, orders the two: either the removal saw the invitation and kept the
    # deal, or the deal is gone here (one write of the deal's shard, once per deal).
    if created and store.table("deals").update(deal["id"], {}) is None:
        store.table("invitations").remove(inv_id)
        return None
    return store.table("invitations").get(inv_id)


def issue_token(store: Store, invitation_id: int) -> str:
    """A new working link token for the invitation; only its hash is stored."""
    token = new_token()
    store.table("tokens").insert(
        {"hash": hash_token(token), "invitation_id": invitation_id, "created": stamp()}
    )
    return token


def find_by_token(store: Store, token: str) -> dict[str, Any] | None:
    """The invitation a token belongs to, or None (malformed tokens never reach the store)."""
    if not isinstance(token, str) or not _TOKEN_SHAPE.match(token):
        return None
    row = store.table("tokens").find_one("hash", hash_token(token))
    return store.table("invitations").get(row["invitation_id"]) if row else None


def for_deal(store: Store, deal_id: int) -> dict[str, Any] | None:
    """The deal's invitation, or None."""
    return store.table("invitations").find_one("deal_id", deal_id)


def is_expired(invitation: dict[str, Any], moment: datetime | None = None) -> bool:
    """Whether the link's time is up (an answered invitation never expires)."""
    if invitation["status"] == "answered":
        return False
    return (
        invitation["status"] == "expired"
        or (moment or now()).isoformat() > invitation["expires_at"]
    )


def record_event(
    store: Store,
    invitation_id: int,
    what: str,
    *,
    status: str | None = None,
    detail: str | None = None,
    only_from: tuple[str, ...] | None = None,
    **fields: Any,
) -> dict[str, Any] | None:
    """Append an event (and maybe move the status) atomically; None if only_from did not match."""
    assert status is None or status in STATUSES

    def allowed(record: dict[str, Any]) -> bool:
        return only_from is None or record["status"] in only_from

    table = store.table("invitations")
    current = table.get(invitation_id)
    if current is None or not allowed(current):
        return None
    event = {"at": stamp(), "what": what, **({"detail": detail} if detail else {})}
    changes = {**fields, "events": [*current.get("events", []), event]}
    if status:
        changes["status"] = status
    # only_if re-checks under the table lock: two requests racing see one winner.
    return table.update(
        invitation_id,
        changes,
        only_if=lambda r: allowed(r) and len(r.get("events", [])) == len(current.get("events", [])),
    )


def is_suppressed(store: Store, email: str | None) -> bool:
    """Whether the address asked never to be mailed again."""
    return (
        bool(email)
        and store.table("suppressions").find_one("email", normalize_email(email)) is not None
    )


def suppress(store: Store, email: str | None, reason: str = "opted out") -> None:
    """Put the address on the list that every send checks."""
    if email:
        store.table("suppressions").insert_unique(
            {"email": normalize_email(email), "at": stamp(), "reason": reason}, "email"
        )
