"""The prospect's answer: stored once, its entry published, the rep's mail queued; the deal page.

Plain functions over the store; they need an app context only where they publish to the
knowledge base (kb.service) or render the rep's mail.
"""

from __future__ import annotations

import logging
from typing import Any

from debrief import entries, i18n
from debrief import text as text_rule
from debrief.auth import users
from debrief.deals import invitations
from debrief.kb import service as kb
from debrief.store import Store
from debrief.survey import notices
from debrief.survey.answer_entry import build_entry, rep_reasons, write_entry
from debrief.survey.link import OPEN_STATUSES, close_link
from debrief.survey.repair import settle
from debrief.taxonomy import reason_label

log = logging.getLogger("debrief.survey")


def clean_text(text: str | None) -> str:
    """Buyer text as stored: the one rule of debrief.text (the form applied it already)."""
    return text_rule.clean_text(text, multiline=True)


def clean_line(text: str | None) -> str | None:
    """A one-line answer (name, company, vendor) by the same rule; None when empty."""
    return text_rule.clean_text(text) or None


# --- the answer -------------------------------------------------------------------------------


def submit_answer(
    store: Store, config: dict[str, Any], invitation: dict[str, Any], data: dict[str, Any]
) -> dict[str, Any] | None:
    """Store the answer, publish its entry, queue the rep's mail; None if answered already.

    Once the answer is stored the buyer is thanked, even if the entries folder refuses the
    file (full or read-only): the answer is safe in the store, and its entry is owed, written
    under the slug it holds by repair_owed_entries once the folder takes writes again. A store
    that refuses the answer raises OSError (503) with the link still open.
    """
    current = store.table("invitations").get(invitation["id"])
    if current is None or current["status"] not in OPEN_STATUSES:
        return None
    deal = store.table("deals").get(invitation["deal_id"]) or {"id": invitation["deal_id"]}
    rep = users.get_user(store, deal["rep_id"]) if deal.get("rep_id") else None
    record = answer_record(deal, invitation, data)
    if rep is not None:
        record["rep_notified"] = None  # waiting: stamped once the mail is sent (notices.py)
    entry = build_entry(deal, rep["email"] if rep else None, record)
    try:
        # The entry's file name goes into the answer before the file exists, so the answer is
        # written once (a second shard write with fsync is a large share of a POST). A kill
        # before the file is written leaves a slug with no file: an entry owed, which
        # repair_owed_entries writes under that slug.
        record["entry_slug"] = entries.free_slug(kb.entries_dir(), entry)
    except (OSError, ValueError):
        log.exception("no file name for the entry of an answer on deal %s", deal["id"])
    # The answer first, unique per invitation (of two racing submits one is created), then the
    # status: a process killed or a disk failing in between leaves the answer kept, never a link
    # closed with no answer behind it.
    answer_id, created = store.table("answers").insert_unique(record, "invitation_id")
    if not created:
        # Sent before, and cut off after the answer was stored (a kill, a full disk), or another
        # tab sending it right now: finish that answer (link closed, entry written once).
        earlier = store.table("answers").get(answer_id)
        if earlier is not None:
            settle(store, earlier)
        return None
    if not close_link(store, invitation["id"]):
        # The link expired or was opted out a moment ago: the answer is not taken.
        store.table("answers").remove(answer_id)
        return None
    answer, _ = write_entry(store, {**record, "id": answer_id}, entry)
    if rep is not None:
        notices.notify_later(store, config, rep, deal, answer_id)
    return answer


def answer_record(
    deal: dict[str, Any], invitation: dict[str, Any], data: dict[str, Any]
) -> dict[str, Any]:
    """The `answers` record: buyer text cleaned, identity kept only for a named answer."""
    named = data.get("attribution") == "named"
    record = {
        "deal_id": deal["id"],
        "invitation_id": invitation["id"],
        "outcome": data["outcome"],
        "competitor": clean_line(data.get("competitor")),
        "reason": data["reason"],
        "reasons": [r for r in data.get("reasons") or [] if r != data["reason"]],
        "own_words": clean_text(data.get("own_words")),
        "claims": [
            {"claim": c["claim"], "verdict": c["verdict"]} for c in data.get("claims") or []
        ],
        "would_change": clean_text(data.get("would_change")),
        "trust": data.get("trust"),
        "attribution": "named" if named else "anonymous",
        "may_contact": bool(data.get("may_contact")),
        "language": data.get("language") or i18n.ENGLISH,  # the form's, as the buyer read it
        "submitted": invitations.stamp(),
        "entry_slug": None,
    }
    if named:
        record["name"] = clean_line(data.get("name"))
        record["company"] = clean_line(data.get("company"))
    return record


# --- the deal page ----------------------------------------------------------------------------


def compare(deal: dict[str, Any], answer: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of the rep's view beside the buyer's, each marked whether the two agree."""
    rep_other = rep_reasons(deal)[1:]
    rows = [
        ("Main reason", reason_label(deal["rep_reason"]) if deal.get("rep_reason") else None,
         reason_label(answer["reason"]), deal.get("rep_reason") == answer["reason"]),
        ("Other reasons", ", ".join(map(reason_label, rep_other)) or None,
         ", ".join(map(reason_label, answer.get("reasons") or [])) or None,
         set(rep_other) == set(answer.get("reasons") or [])),
        ("Vendor chosen", deal.get("competitor"), answer.get("competitor"),
         same_vendor(deal.get("competitor"), answer.get("competitor"))),
    ]  # fmt: skip
    return [{"what": w, "rep": r, "buyer": b, "agrees": a} for w, r, b, a in rows]


def same_vendor(rep: str | None, buyer: str | None) -> bool:
    """Whether two vendor names mean the same vendor, in any script; a blank side never agrees
    with a named one ("Rivalry CRM" = "rivalry-crm"; "株式会社ライバル" is not a blank)."""
    rep_name, buyer_name = (" ".join((v or "").split()) for v in (rep, buyer))
    if not rep_name or not buyer_name:
        return rep_name == buyer_name
    rep_slug, buyer_slug = entries.slugify(rep_name), entries.slugify(buyer_name)
    if rep_slug or buyer_slug:
        return rep_slug == buyer_slug
    return rep_name.casefold() == buyer_name.casefold()  # names of symbols only, e.g. "🙂"


def deal_for(store: Store, invitation: dict[str, Any]) -> dict[str, Any] | None:
    """The deal an invitation asks about."""
    return store.table("deals").get(invitation["deal_id"])


def answer_for_invitation(store: Store, invitation_id: int) -> dict[str, Any] | None:
    """The answer given through an invitation, or None."""
    return store.table("answers").find_one("invitation_id", invitation_id)


# --- who reads the answer (every page the buyer sees says so) --------------------------------


def rep_first_name(store: Store, deal_id: int) -> str | None:
    """The first name of the deal's rep, or None when the deal or its rep is gone."""
    deal = store.table("deals").get(deal_id)
    rep = users.get_user(store, deal["rep_id"]) if deal and deal.get("rep_id") else None
    words = ((rep or {}).get("name") or "").split()
    return words[0] if words else None
