"""The prospect's answer: link states, storing the answer once, its entry, the rep's mail.

Plain functions over the store; they need an app context only where they publish to the
knowledge base (kb.service) or render the rep's mail.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from debrief import entries, i18n
from debrief import text as text_rule
from debrief.auth import users
from debrief.deals import invitations
from debrief.index import IndexWriteError, get_kb
from debrief.kb import service as kb
from debrief.store import Store, Table
from debrief.survey import anonymity, notices
from debrief.taxonomy import outcome_label, reason_label, verdict_label

log = logging.getLogger("debrief.survey")

# States in which a link still shows the form (failed: a later mail bounced, the link works).
OPEN_STATUSES = ("pending", "sent", "opened", "failed")


def clean_text(text: str | None) -> str:
    """Buyer text as stored: the one rule of debrief.text (the form applied it already)."""
    return text_rule.clean_text(text, multiline=True)


def clean_line(text: str | None) -> str | None:
    """A one-line answer (name, company, vendor) by the same rule; None when empty."""
    return text_rule.clean_text(text) or None


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
            _settle(store, earlier)
        return None
    if not _close_link(store, invitation["id"]):
        # The link expired or was opted out a moment ago: the answer is not taken.
        store.table("answers").remove(answer_id)
        return None
    answer, _ = _write_owed_entry(store, {**record, "id": answer_id}, entry)
    if rep is not None:
        notices.notify_later(store, config, rep, deal, answer_id)
    return answer


def _close_link(store: Store, invitation_id: int) -> bool:
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


def _write_owed_entry(
    store: Store, answer: dict[str, Any], entry: entries.Entry
) -> tuple[dict[str, Any], bool]:
    """Write the answer's entry once (not again if a file of it exists): (answer, written)."""
    wanted = entries.normalized(replace(entry, slug=answer.get("entry_slug") or ""))
    try:
        slug = kb.publish(wanted, same=lambda found: is_entry_of(found, wanted)).slug
    except (OSError, ValueError, IndexWriteError) as exc:
        # Still owed: the answer keeps its slug, and the next repair writes the file.
        log.warning("answer %s stored; its entry is owed (%s)", answer["id"], exc)
        return answer, False
    if slug != answer.get("entry_slug"):  # the name was taken by another entry meanwhile
        log.info("answer %s: entry written as %s, not %s", answer["id"], slug, wanted.slug)
        try:
            answer = store.table("answers").update(answer["id"], {"entry_slug": slug}) or answer
        except OSError as exc:  # the next repair finds the file and records its name
            log.warning(
                "answer %s: entry %s written, its name not recorded: %s", answer["id"], slug, exc
            )
            answer = {**answer, "entry_slug": slug}
    return answer, True


def is_entry_of(found: entries.Entry, wanted: entries.Entry) -> bool:
    """Whether an entry read from a file is the debrief `wanted` (as rebuilt from its answer).

    By the deal its header names; a header without one (an anonymous entry may name none) must
    match the title, date and body, so another answer's debrief that took the name is never
    taken for this one.
    """
    if found.kind != "debrief":
        return False
    if found.deal is not None and wanted.deal is not None:
        return found.deal == wanted.deal
    return (found.title, found.date, found.body) == (wanted.title, wanted.date, wanted.body)


# --- entries owed -----------------------------------------------------------------------------

# Automatic repairs (each app start, the index's periodic full sync) look at no more than this
# many of the newest answers not yet known to have their entry: a kill or a full disk cut off
# recent ones, and a start must stay cheap however many answers there are. `debrief init`,
# `kb reindex` and `invites remind` look at every one.
REPAIR_LOOKS_AT = 500
# A stored answer whose link expired or was opted out may be a submit still taking it back
# (submit_answer removes it then): left alone this long.
IN_FLIGHT = timedelta(minutes=1)
# The `checkpoints` record: every answer up to this id has its entry file (or had, when it was
# checked: a debrief deleted by hand later is not brought back).
_CHECKPOINT = "answers-with-entries"


@dataclass
class Repair:
    """What repair_owed_entries did."""

    checked: int = 0  # answers looked at
    written: int = 0  # entries written now
    owed: int = 0  # entries still owed (the entries folder refused the write)

    def summary(self) -> str:
        """One line for the commands that run a repair."""
        line = f"Entries owed by answers: {self.written} written"
        if self.owed:
            line += f", {self.owed} still owed (the entries folder refused them: see the log)"
        return line + "."


def repair_owed_entries(store: Store, limit: int | None = None) -> Repair:
    """Write, exactly once, the entry of every answer that has none (cut off by a kill or a full
    disk), under the slug the answer holds; close its link too if that was cut off.

    Looks at the answers stored since the last complete run (the `checkpoints` table), at most
    the `limit` newest of them; needs an app context (kb.publish).
    """
    done = Repair()
    if not store.has_table("answers"):
        return done
    settled = _checkpoint(store)
    pending, complete = _answers_after(store.table("answers"), settled, limit)
    upto, blocked = settled, not complete
    for answer in pending:
        try:
            result = _settle(store, answer)
        except (OSError, IndexWriteError) as exc:  # a disk refusing the link's update
            log.warning("answer %s: link or entry not repaired: %s", answer["id"], exc)
            result = "owed"
        done.checked += 1
        done.written += result == "written"
        done.owed += result == "owed"
        blocked = blocked or result not in ("present", "written")
        if not blocked:
            upto = answer["id"]
    if upto > settled:
        save_checkpoint(store, upto)
    return done


def repair_quietly(store: Store) -> Repair | None:
    """The automatic repair (app start, periodic sync): bounded, logged, never an error."""
    try:
        done = repair_owed_entries(store, limit=REPAIR_LOOKS_AT)
    except Exception:  # noqa: BLE001 - a start or a sync must go on; the next run tries again
        log.exception("entries owed by answers not repaired")
        return None
    if done.written or done.owed:
        log.warning("entries owed by answers: %d written, %d still owed", done.written, done.owed)
    return done


def _settle(store: Store, answer: dict[str, Any]) -> str:
    """Make sure one answer's link is closed and its entry written, once.

    'present' (nothing to do), 'written', 'owed' (the folder refused it) or 'waiting' (maybe a
    submit still in flight that will take the answer back).
    """
    slug = answer.get("entry_slug")
    # The link was closed before the file was written: an entry in place means nothing to do.
    # The index knows most (one indexed lookup: reading and parsing each file made a start
    # that checks 500 answers cost ~0.2 s); the file itself answers for the rest.
    if slug and any(
        hit.slug == slug and hit.kind == "debrief"
        for hit in get_kb().entries_for_deal(answer["deal_id"])
    ):
        return "present"
    wanted = _entry_of_answer(store, answer)
    found = kb.load(slug) if slug else None
    if found is not None and is_entry_of(found, wanted):
        return "present"
    invitation = store.table("invitations").get(answer["invitation_id"])
    if invitation is not None and invitation["status"] in OPEN_STATUSES:
        _close_link(store, invitation["id"])
        invitation = store.table("invitations").get(answer["invitation_id"])
    closed = invitation is None or invitation["status"] == "answered"
    submitted = datetime.fromisoformat(answer["submitted"])
    if not closed and submitted > invitations.now() - IN_FLIGHT:
        return "waiting"
    _, written = _write_owed_entry(store, answer, wanted)
    return "written" if written else "owed"


def _entry_of_answer(store: Store, answer: dict[str, Any]) -> entries.Entry:
    """The entry as it was (or would have been) written when the answer came in."""
    deal = store.table("deals").get(answer["deal_id"]) or {"id": answer["deal_id"]}
    rep = users.get_user(store, deal["rep_id"]) if deal.get("rep_id") else None
    entry = build_entry(deal, rep["email"] if rep else None, answer)
    try:  # the day in its slug (free_slug took it from the entry), not today's
        day = date.fromisoformat((answer.get("entry_slug") or "")[:10])
    except ValueError:
        day = datetime.fromisoformat(answer["submitted"]).date()
    return entries.normalized(replace(entry, date=day))


def _answers_after(
    answers: Table, settled: int, limit: int | None
) -> tuple[list[dict[str, Any]], bool]:
    """The answers with ids above `settled`, oldest first, at most `limit` (the newest);
    and whether that is all of them. Reads the newest shards only."""
    chunks: list[list[dict[str, Any]]] = []
    count, complete = 0, True
    for number in sorted(answers.shards(), reverse=True):
        records = answers.shard(number)
        newer = [r for r in records if r["id"] > settled]
        chunks.append(newer)
        count += len(newer)
        if len(newer) < len(records):
            break  # this shard reaches the settled ones: older shards are all settled
        if limit is not None and count > limit:
            break
    pending = [r for chunk in reversed(chunks) for r in chunk]
    if limit is not None and len(pending) > limit:
        pending, complete = pending[-limit:], False
    return pending, complete


def _checkpoint(store: Store) -> int:
    """The answer id up to which every answer is known to have its entry (0: none checked)."""
    if not store.has_table("checkpoints"):
        return 0
    found = store.table("checkpoints").find_one("name", _CHECKPOINT)
    return int(found["answer_id"]) if found else 0


def save_checkpoint(store: Store, upto: int) -> None:
    """Record every answer up to `upto` as having its entry: what a complete repair records (and
    what a data set made with every entry written, such as the benchmarks', starts with).

    Moves the checkpoint forward only (never back: another process may have gone further)."""
    table = store.table("checkpoints")
    try:
        found = table.find_one("name", _CHECKPOINT)
        if found is None:
            record_id, created = table.insert_unique(
                {"name": _CHECKPOINT, "answer_id": upto}, "name"
            )
            if created:
                return
            found = {"id": record_id}
        table.update(found["id"], {"answer_id": upto}, only_if=lambda r: r["answer_id"] < upto)
    except OSError as exc:  # the next run looks at these answers again, which is harmless
        log.warning("repair checkpoint not saved: %s", exc)


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
        language=answer.get("language"),
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
                f"- **{verdict_label(c['verdict'])}**: {_inline(c['claim'])}"
                for c in answer["claims"]
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


def _inline(text: str) -> str:
    """A rep's claim on one Markdown line with its Markdown characters escaped."""
    line = entries.clean_header_value(text)
    return re.sub(r"([\\`*_{}\[\]()<>#+!|~])", r"\\\1", line)


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
