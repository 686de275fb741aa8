"""Sending the weekly digest: at most one mail per person per ISO week, however often cron runs.

Each account has a record in the `digests` table: the week last handled, when a run claimed it
and when it was done. Mark, then send: a run first claims the person's week (one conditional
update under the table's lock, so of two runs, threads or processes, exactly one wins), then
builds and sends the mail, then records it done; a mail that fails gives the claim back, so the
next run that week tries again. The other order, send then mark, would mail twice whenever two
runs overlap (cron jobs that run long) or a run is killed between the send and the mark. The
price of this order is the opposite case: a run killed after its claim and before the send would
leave the week claimed with nothing sent. So a claim is a lease: one older than CLAIM_LEASE that
was never marked done is free again, and a later run that week sends the mail (twice only if the
kill fell between the server's acceptance and the mark). The rep's "an answer arrived" notice
(survey/notices.py) chose send-then-mark, because a lost notice hides an answer; a lost digest
only repeats what the site shows, and a duplicate digest is noise.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr
from typing import Any
from urllib.parse import urlsplit

from flask import render_template

from debrief import mail
from debrief.auth import users
from debrief.digest import content
from debrief.index import get_kb
from debrief.store import Store, now, stamp

log = logging.getLogger("debrief.digest")

# A claim held longer than this was cut off (a killed run): free it. A send takes seconds at most
# (mail.SMTP_TIMEOUT), so a live run's claim never ages this much.
CLAIM_LEASE = datetime.timedelta(minutes=10)


@dataclass
class Run:
    """What one `debrief digest` run did."""

    sent: int = 0
    empty: int = 0  # nothing new: no mail, and the week is done for them
    done: int = 0  # handled earlier this week (or right now by another run)
    off: int = 0  # turned off on their settings page
    failed: list[tuple[str, str]] = field(default_factory=list)  # (email, reason)


def week_of(day: datetime.date) -> str:
    """The ISO week of a day, as 2026-W49."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def _owed(record: dict[str, Any], week: str, moment: datetime.datetime) -> bool:
    """Whether the week's digest is still to be sent, and nobody is sending it right now."""
    if record.get("week") != week:
        return True
    if record.get("done_at"):
        return False
    claimed = record.get("claimed_at")
    return not claimed or moment - datetime.datetime.fromisoformat(claimed) >= CLAIM_LEASE


def claim(store: Store, user_id: int, week: str) -> int | None:
    """Claim the account's digest for the week: the record's id, or None if it is not owed."""
    table = store.table("digests")
    record_id, _ = table.insert_unique({"user_id": user_id, "week": None}, "user_id")
    moment = now()
    won = table.update(
        record_id,
        {"week": week, "claimed_at": stamp(moment), "done_at": None},
        only_if=lambda r: _owed(r, week, moment),
    )
    return record_id if won is not None else None


def mark_done(store: Store, record_id: int, mailed: bool) -> None:
    """The week is handled: mailed, or nothing to tell."""
    store.table("digests").update(record_id, {"done_at": stamp(), "mailed": mailed, "error": None})


def give_back(store: Store, record_id: int, reason: str) -> None:
    """The mail failed: free the claim, so the next run this week tries again."""
    store.table("digests").update(record_id, {"claimed_at": None, "error": reason})


def message(config: dict[str, Any], user: dict[str, Any], digest: content.Digest) -> EmailMessage:
    """The digest as a MIME message from the organisation; header values are checked."""
    base = config["BASE_URL"].rstrip("/")
    context = {
        "user": user,
        "digest": digest,
        "base": base,
        "settings_url": f"{base}/settings",
        "kind_label": content.kind_label,
    }
    return mail.build_message(
        sender=mail.named_sender(config["MAIL_FROM"], config["ORG_NAME"]),
        to=formataddr((mail.check_header(user.get("name") or ""), user["email"])),
        subject=f"Your weekly digest, {digest.today.day} {digest.today:%B %Y}",
        text=render_template("mail/digest.txt", **context),
        html=render_template("mail/digest.html", **context),
        domain=urlsplit(config["BASE_URL"]).hostname or "localhost",
    )


def run(store: Store, config: dict[str, Any], today: datetime.date | None = None) -> Run:
    """Send this week's digest to every active account that wants one and is still owed it."""
    today = today or now().date()
    week = week_of(today)
    knowledge = get_kb()
    result = Run()
    team: content.Digest | None = None  # the managers' part: the same for every manager
    for user in users.list_users(store):
        if not user.get("active"):
            continue
        if not users.wants_digest(user):
            result.off += 1
            continue
        record_id = claim(store, user["id"], week)
        if record_id is None:
            result.done += 1
            continue
        if user["role"] != "manager":
            digest = content.for_rep(store, knowledge, user, today)
        else:
            team = team if team is not None else content.for_manager(store, today)
            digest = team
        if not digest:
            mark_done(store, record_id, mailed=False)
            result.empty += 1
            continue
        try:
            where = mail.transport(config).send(message(config, user, digest))
        except (mail.MailError, ValueError, OSError) as exc:
            give_back(store, record_id, str(exc))
            result.failed.append((user["email"], str(exc)))
            log.warning("digest for %s not sent, retried next run: %s", user["email"], exc)
            continue
        mark_done(store, record_id, mailed=True)
        result.sent += 1
        log.info("digest for %s: %s", user["email"], where)
    return result
