"""The debrief entry an answer makes: building it, recognising its file, writing it once."""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from debrief import entries
from debrief.auth import users
from debrief.deals import invitations
from debrief.index import IndexWriteError
from debrief.kb import service as kb
from debrief.store import Store
from debrief.survey import anonymity
from debrief.taxonomy import outcome_label, reason_label, verdict_label

log = logging.getLogger("debrief.survey")


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


def write_entry(
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


def entry_of_answer(store: Store, answer: dict[str, Any]) -> entries.Entry:
    """The entry as it was (or would have been) written when the answer came in."""
    entry = _rebuilt(store, answer)
    try:  # the day in its slug (free_slug took it from the entry), not today's
        day = date.fromisoformat((answer.get("entry_slug") or "")[:10])
    except ValueError:
        day = datetime.fromisoformat(answer["submitted"]).date()
    return entries.normalized(replace(entry, date=day))


def team_entry(store: Store, answer: dict[str, Any]) -> entries.Entry:
    """The entry exactly as the team sees it (rebuilt from the answer if its file is missing)."""
    entry = kb.answer_entry(answer)
    if entry is not None:
        return entry
    return entries.normalized(_rebuilt(store, answer))


def _rebuilt(store: Store, answer: dict[str, Any]) -> entries.Entry:
    """The answer's entry built again from its deal and rep as they are now."""
    deal = store.table("deals").get(answer["deal_id"]) or {"id": answer["deal_id"]}
    rep = users.get_user(store, deal["rep_id"]) if deal.get("rep_id") else None
    return build_entry(deal, rep["email"] if rep else None, answer)
