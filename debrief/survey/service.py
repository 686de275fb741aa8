"""The prospect's answer: link states, storing the answer once, its entry, the rep's mail.

Plain functions over the store; they need an app context only where they publish to the
knowledge base (kb.service) or render the rep's mail.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import Any

from debrief import entries
from debrief.auth import users
from debrief.deals import invitations
from debrief.kb import service as kb
from debrief.store import Store
from debrief.survey import anonymity, notices
from debrief.taxonomy import CLAIM_VERDICTS, outcome_label, reason_label

log = logging.getLogger("debrief.survey")

# States in which a link still shows the form (failed: a later mail bounced, the link works).
OPEN_STATUSES = ("pending", "sent", "opened", "failed")
_C0_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean_text(text: str | None) -> str:
    """Buyer text as stored: LF line ends, NUL and other C0 controls (but tab, LF) removed."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    return _C0_RE.sub("", text)


def clean_line(text: str | None) -> str | None:
    """A one-line answer (name, company, vendor): controls become spaces; None when empty."""
    return entries.clean_header_value(text or "") or None


# --- the link ---------------------------------------------------------------------------------


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
        invitations.record_event(
            store,
            invitation["id"],
            "opened",
            status="opened",
            only_from=OPEN_STATUSES,
            opened_at=invitations.stamp(),
        )


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


# --- the answer -------------------------------------------------------------------------------


def submit_answer(
    store: Store, config: dict[str, Any], invitation: dict[str, Any], data: dict[str, Any]
) -> dict[str, Any] | None:
    """Store the answer, publish its entry, queue the rep's mail; None if answered already."""
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
        # written once (a second shard write with fsync cost ~3 ms of a ~15 ms POST). A kill
        # before the file is written leaves a slug with no file: readers check (team_entry,
        # kb._debrief_slug) and rebuild the entry from the answer.
        record["entry_slug"] = entries.free_slug(kb.entries_dir(), entry)
    except (OSError, ValueError):
        log.exception("no file name for the entry of an answer on deal %s", deal["id"])
    # The answer first, unique per invitation (of two racing submits one is created), then the
    # status: a process killed or a disk failing in between leaves the answer kept, never a link
    # closed with no answer behind it.
    answer_id, created = store.table("answers").insert_unique(record, "invitation_id")
    if not created:
        return None
    won = invitations.record_event(
        store,
        invitation["id"],
        "answered",
        status="answered",
        only_from=OPEN_STATUSES,
        answered_at=invitations.stamp(),
    )
    if won is None:  # the link expired or was opted out a moment ago: the answer is not taken
        store.table("answers").remove(answer_id)
        return None
    answer = {**record, "id": answer_id}
    slug = None
    try:
        slug = kb.publish(replace(entry, slug=record["entry_slug"] or "")).slug
    except (OSError, ValueError):
        # The answer is safe in the store and on the deal page; the log names what is missing.
        log.exception("answer %s stored, but its entry could not be written", answer_id)
    if slug != record["entry_slug"]:  # no file, or another writer took the name a moment ago
        answer = store.table("answers").update(answer_id, {"entry_slug": slug}) or answer
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
        "submitted": invitations.stamp(),
        "entry_slug": None,
    }
    if named:
        record["name"] = clean_line(data.get("name"))
        record["company"] = clean_line(data.get("company"))
    return record


def rep_reasons(deal: dict[str, Any]) -> list[str]:
    """The rep's reasons for the deal, main first."""
    main = [deal["rep_reason"]] if deal.get("rep_reason") else []
    return main + [r for r in deal.get("rep_reasons") or [] if r not in main]


def build_entry(
    deal: dict[str, Any], rep_email: str | None, answer: dict[str, Any]
) -> entries.Entry:
    """The debrief entry for an answer; an anonymous one names no deal, person, company or address.

    The deal's own pages reach an anonymous entry through the store (answers.entry_slug), so its
    file carries no Deal header and its title no deal number (SPEC 2.3).
    """
    named = not anonymity.is_anonymous(answer)
    answer = anonymity.shown(answer, deal)
    company = answer.get("company")
    summary = f"{outcome_label(answer['outcome'])}, mainly {reason_label(answer['reason'])}"
    if not named:
        title = f"A buyer's debrief: {summary}"
    else:
        title = f"{company}: {summary}" if company else f"Deal {deal['id']}: {summary}"
    return entries.Entry(
        kind="debrief",
        title=title,
        date=invitations.now().date(),
        body=entry_body(deal, answer),
        deal=deal["id"] if named else None,
        company=company,
        rep=rep_email,
        competitor=answer.get("competitor"),
        outcome=answer["outcome"],
        prospect_reasons=[answer["reason"], *answer["reasons"]],
        rep_reasons=rep_reasons(deal),
        trust=answer.get("trust"),
    )


def entry_body(deal: dict[str, Any], answer: dict[str, Any]) -> str:
    """The Markdown body: buyer text only inside buyer blocks, never as Markdown."""
    parts: list[str] = []
    if answer.get("own_words"):
        parts += ["## In the buyer's words", entries.buyer_block(answer["own_words"])]
    if answer.get("claims"):
        parts.append("## What we told them, and whether it held")
        parts.append(
            "\n".join(
                f"- **{_verdict(c['verdict'])}**: {_inline(c['claim'])}" for c in answer["claims"]
            )
        )
    if answer.get("would_change"):
        parts += [
            "## What would have changed the decision",
            entries.buyer_block(answer["would_change"]),
        ]
    main = deal.get("rep_reason")
    if main and main != answer["reason"]:
        parts += [
            "## Where the stories differ",
            f"The rep recorded **{reason_label(main)}** as the main reason; "
            f"the buyer named **{reason_label(answer['reason'])}**.",
        ]
    if answer["attribution"] == "named":
        who = ", ".join(v for v in (answer.get("name"), answer.get("company")) if v)
        parts += ["## Who answered", entries.buyer_block(who)]
    return "\n\n".join(parts) + "\n" if parts else ""


def _verdict(slug: str) -> str:
    return CLAIM_VERDICTS.get(slug, slug)


def _inline(text: str) -> str:
    """A rep's claim on one Markdown line with its Markdown characters escaped."""
    line = entries.clean_header_value(text)
    return re.sub(r"([\\`*_{}\[\]()<>#+!|~])", r"\\\1", line)


# --- the deal page ----------------------------------------------------------------------------


def answer_for_deal(store: Store, deal_id: int) -> dict[str, Any] | None:
    """The buyer's answer on a deal, or None."""
    return store.table("answers").find_one("deal_id", deal_id)


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


def team_entry(store: Store, answer: dict[str, Any]) -> entries.Entry:
    """The entry exactly as the team sees it (rebuilt from the answer if its file is missing)."""
    entry = kb.answer_entry(answer)
    if entry is not None:
        return entry
    deal = store.table("deals").get(answer["deal_id"]) or {"id": answer["deal_id"]}
    rep = users.get_user(store, deal["rep_id"]) if deal.get("rep_id") else None
    return entries.normalized(build_entry(deal, rep["email"] if rep else None, answer))


# --- who reads the answer (every page the buyer sees says so) --------------------------------


def rep_first_name(store: Store, deal_id: int) -> str | None:
    """The first name of the deal's rep, or None when the deal or its rep is gone."""
    deal = store.table("deals").get(deal_id)
    rep = users.get_user(store, deal["rep_id"]) if deal and deal.get("rep_id") else None
    words = ((rep or {}).get("name") or "").split()
    return words[0] if words else None
