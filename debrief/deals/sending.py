"""Invitation mail: the honest copy, the preview, sending, the one reminder and expiry.

Links come from the BASE_URL setting only, never from a request (its Host header is the
sender's to choose). A send is claimed on the invitation record before any mail goes out, so
two clicks, two workers or two cron runs never mail the same buyer twice.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr
from typing import Any
from urllib.parse import urlsplit

from flask import render_template
from flask_babel import force_locale, gettext

from debrief import i18n, mail
from debrief.auth import users
from debrief.deals import invitations
from debrief.store import Store
from debrief.taxonomy import N_

log = logging.getLogger("debrief.invites")

MAX_NOTE = 300
# A web address in any common spelling: a scheme, www., or a name ending in a usual TLD.
_URLISH = re.compile(
    r"[a-z][a-z0-9+.-]*://|\bwww\.|\bmailto:|"
    r"\b[\w-]+(?:\.[\w-]+)*\.(?:com|net|org|io|co|info|biz|app|dev|ly|me|ai|xyz|gl|gd)\b|"
    r"\b[\w-]+(?:\.[\w-]+)+/\S",
    re.IGNORECASE,
)


def note_problem(note: str | None) -> str | None:
    """Why a personal sentence cannot go in the mail, or None when it can."""
    if not note:
        return None
    if len(note) > MAX_NOTE:
        return f"Keep it to one sentence of at most {MAX_NOTE} characters."
    try:
        mail.check_header(note)  # the same rule as headers: one line, nothing hidden
    except mail.HeaderInjection:
        return "Use one line of plain text, without line breaks or control characters."
    if _URLISH.search(note):
        return "No links or web addresses, please: the mail already holds the one link it needs."
    return None


SUBJECTS = {  # in the buyer's language when sent (compose)
    "invite": N_("Two minutes on why you didn't choose us (no sales call)"),
    "reminder": N_("Last note: why you didn't choose us (two minutes, no sales call)"),
}
SENDABLE = ("pending", "failed")
REMINDABLE = ("sent", "opened")
PREVIEW_TOKEN = "your-own-link-is-made-when-you-send"  # noqa: S105 - a placeholder, not a secret
SEND_CLAIM = timedelta(minutes=10)  # a send claimed longer ago was cut off (crash): free it
REFUSALS = {
    "sent": "The invitation was sent already; the one reminder goes out by itself.",
    "opened": "The buyer has opened the invitation already.",
    "answered": "The buyer has answered already.",
    "expired": "The invitation has expired.",
    "opted-out": "This address asked never to be mailed again.",
}


class InviteError(Exception):
    """An invitation cannot be sent; str() says why, in words a rep can act on."""


@dataclass
class Mail:
    """A rendered invitation or reminder, and who it is from."""

    subject: str
    text: str
    html: str
    sender: str
    language: str = "en"  # the catalog it was written in (the deal's language, or a fallback)


def links(config: dict[str, Any], token: str) -> dict[str, str]:
    """The survey and opt-out links for a token, from BASE_URL."""
    base = config["BASE_URL"].rstrip("/")
    return {"survey_url": f"{base}/s/{token}", "optout_url": f"{base}/s/{token}/optout"}


def compose(
    config: dict[str, Any],
    deal: dict[str, Any],
    rep: dict[str, Any] | None,
    note: str | None,
    token: str,
    kind: str = "invite",
    expires_at: str | None = None,
) -> Mail:
    """Render the mail of one kind ("invite" or "reminder") for a deal's contact, in the
    deal's language (the closest one shipped, else English: i18n.catalog_language)."""
    expires = expires_at or invitations.stamp(
        invitations.now() + timedelta(days=config["INVITE_EXPIRY_DAYS"])
    )
    rep_name = (rep or {}).get("name")
    language = i18n.catalog_language(i18n.deal_language(deal, config))
    with force_locale(language):
        context = {
            "deal": deal,
            "greeting": deal.get("contact_name"),
            "rep_name": rep_name,
            "note": (note or "").strip(),
            "expires_on": i18n.long_date(datetime.fromisoformat(expires).date()),
            **links(config, token),
        }
        org = config["ORG_NAME"]
        return Mail(
            subject=gettext(SUBJECTS[kind]),
            text=render_template(f"mail/{kind}.txt", **context),
            html=render_template(f"mail/{kind}.html", **context),
            # The buyer sees who asks: "Ana Reyes at Harbourline" (SPEC 2.2), from our address.
            sender=mail.named_sender(
                config["MAIL_FROM"],
                gettext("%(rep_name)s at %(org)s", rep_name=rep_name, org=org) if rep_name else org,
            ),
            language=language,
        )


def preview(store: Store, config: dict[str, Any], deal: dict[str, Any], note: str | None) -> Mail:
    """The invitation exactly as it will go out, with a placeholder where the link's token goes."""
    return compose(config, deal, users.get_user(store, deal["rep_id"]), note, PREVIEW_TOKEN)


def _message(config: dict[str, Any], deal: dict[str, Any], rep: Any, body: Mail) -> EmailMessage:
    """The MIME message; header values are checked, so a name with a line break is refused."""
    return mail.build_message(
        sender=body.sender,
        to=formataddr((mail.check_header(deal.get("contact_name") or ""), deal["contact_email"])),
        subject=body.subject,
        text=body.text,
        html=body.html,
        reply_to=(rep or {}).get("email"),
        list_unsubscribe=_optout_link(body),
        domain=urlsplit(config["BASE_URL"]).hostname or "localhost",
    )


def _optout_link(body: Mail) -> str:
    """The opt-out link of a rendered mail, for the List-Unsubscribe header."""
    return next(word for word in body.text.split() if word.endswith("/optout"))


def _event(store: Store, invitation_id: int, what: str, **kwargs: Any) -> dict[str, Any] | None:
    """record_event, retried when another writer added an event in between."""
    for _ in range(5):
        done = invitations.record_event(store, invitation_id, what, **kwargs)
        if done is not None:
            return done
        current = store.table("invitations").get(invitation_id)
        only_from = kwargs.get("only_from")
        if current is None or (only_from and current["status"] not in only_from):
            return None
    return None


def _claimable(record: dict[str, Any], statuses: tuple[str, ...]) -> bool:
    """In one of statuses and not being sent by someone else right now."""
    since = record.get("sending_since")
    busy = since and invitations.now() - datetime.fromisoformat(since) < SEND_CLAIM
    return record["status"] in statuses and not busy


def _drop_token(store: Store, token: str) -> None:
    """Forget a token whose mail never left: a link nobody holds should not work."""
    row = store.table("tokens").find_one("hash", invitations.hash_token(token))
    if row is not None:
        store.table("tokens").remove(row["id"])


def _deliver(store: Store, config: dict[str, Any], deal: dict[str, Any], build: Any) -> str | None:
    """Issue a token, build the mail with it and send it: None when sent, else the reason."""
    invitation = invitations.for_deal(store, deal["id"])
    token = invitations.issue_token(store, invitation["id"])
    try:
        msg = _message(config, deal, users.get_user(store, deal["rep_id"]), build(token))
        where = mail.transport(config).send(msg)
    except mail.HeaderInjection:
        _drop_token(store, token)
        return (
            "The contact name or email (or the rep's name) holds a line break or control "
            "character: edit the deal."
        )
    except (mail.MailError, ValueError) as exc:
        _drop_token(store, token)
        return str(exc)
    log.info("invitation %s for deal %s: %s", invitation["id"], deal["id"], where)
    return None


def send_invitation(
    store: Store, config: dict[str, Any], deal: dict[str, Any], note: str | None = None
) -> dict[str, Any]:
    """Send (or retry) the deal's invitation; the updated invitation, or InviteError why not.

    note is the rep's personal sentence; None keeps the one saved with the invitation.
    """
    email = deal.get("contact_email")
    if not email:
        raise InviteError("This deal has no contact email: add one on the edit page, then send.")
    invitation = invitations.create_invitation(store, deal, config["INVITE_EXPIRY_DAYS"])
    if invitation is None:  # e.g. `invites send` reached a deal whose import was undone since
        raise InviteError("This deal does not exist any more.")
    if invitation["status"] not in SENDABLE:
        raise InviteError(REFUSALS.get(invitation["status"], "This invitation cannot be sent."))
    note = invitation.get("personal_note", "") if note is None else note.strip()
    if problem := note_problem(note):
        raise InviteError(f"Personal sentence: {problem}")
    if invitations.is_suppressed(store, email):
        # Checked at send time, so an opt-out from any earlier mail is honoured.
        _event(
            store,
            invitation["id"],
            "not sent",
            status="opted-out",
            detail=f"{email} asked never to be mailed again",
            only_from=SENDABLE,
        )
        raise InviteError(REFUSALS["opted-out"])
    table = store.table("invitations")
    claimed = table.update(
        invitation["id"],
        {"email": email, "personal_note": note, "sending_since": invitations.stamp()},
        only_if=lambda r: _claimable(r, SENDABLE),
    )
    if claimed is None:
        raise InviteError("This invitation is being sent right now.")
    expires_at = invitations.stamp(invitations.now() + timedelta(days=config["INVITE_EXPIRY_DAYS"]))
    rep = users.get_user(store, deal["rep_id"])
    reason = _deliver(
        store, config, deal, lambda token: compose(config, deal, rep, note, token, "invite")
    )
    if reason:
        done = _event(
            store,
            invitation["id"],
            "failed",
            status="failed",
            detail=reason,
            error=reason,
            sending_since=None,
        )
    else:
        done = _event(
            store,
            invitation["id"],
            "sent",
            status="sent",
            detail=f"to {email}",
            sent_at=invitations.stamp(),
            expires_at=expires_at,  # the link's time starts when it is sent
            error=None,
            sending_since=None,
        )
    return done or table.get(invitation["id"])


def pending_deals(store: Store, deal_id: int | None = None) -> list[dict[str, Any]]:
    """Deals with a contact whose invitation is not sent yet (or just the one deal asked for)."""
    if deal_id is not None:
        deal = store.table("deals").get(deal_id)
        return [deal] if deal else []
    statuses = {i["deal_id"]: i["status"] for i in store.table("invitations").all()}
    return [
        d
        for d in store.table("deals").all()
        if d.get("contact_email") and statuses.get(d["id"], "pending") == "pending"
    ]


@dataclass
class ReminderRun:
    """What one `debrief invites remind` run did."""

    reminded: int = 0
    failed: int = 0
    expired: int = 0
    opted_out: int = 0


def send_reminders(
    store: Store, config: dict[str, Any], moment: datetime | None = None
) -> ReminderRun:
    """Send the one reminder that is due, mark expired invitations; safe to run any time."""
    moment = moment or invitations.now()
    due_after = timedelta(days=config["REMINDER_AFTER_DAYS"])
    run = ReminderRun()
    table = store.table("invitations")
    for inv in table.all():
        if inv["status"] not in REMINDABLE:
            continue
        if invitations.is_expired(inv, moment):
            if _event(store, inv["id"], "expired", status="expired", only_from=REMINDABLE):
                run.expired += 1
            continue
        sent_at = inv.get("sent_at")
        if inv.get("reminded_at") or not sent_at:
            continue
        if datetime.fromisoformat(sent_at) + due_after > moment:
            continue
        if invitations.is_suppressed(store, inv["email"]):
            if _event(store, inv["id"], "opted out", status="opted-out", only_from=REMINDABLE):
                run.opted_out += 1
            continue
        # The claim: only one run (or thread) gets past this line per invitation, ever.
        claimed = table.update(
            inv["id"],
            {"reminded_at": invitations.stamp(moment)},
            only_if=lambda r: r["status"] in REMINDABLE and not r.get("reminded_at"),
        )
        if claimed is None:
            continue
        deal = store.table("deals").get(inv["deal_id"])
        rep = users.get_user(store, deal["rep_id"]) if deal else None
        reason = "The deal was deleted." if deal is None else None
        reason = reason or _deliver(
            store,
            config,
            {**deal, "contact_email": inv["email"]},
            lambda token, d=deal, r=rep, i=inv: compose(
                config, d, r, i.get("personal_note"), token, "reminder", i["expires_at"]
            ),
        )
        if reason:
            run.failed += 1
            _event(store, inv["id"], "reminder failed", detail=reason, error=reason)
        else:
            run.reminded += 1
            _event(store, inv["id"], "reminder sent", detail=f"to {inv['email']}")
    return run
