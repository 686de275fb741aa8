"""Bring debrief entries written by earlier versions to today's form (run by `debrief init`).

Earlier versions wrote an anonymous debrief with `Deal: N` in its header, "Deal N: ..." as its
title and the buyer's and the rep's words as given, names and all. Those files are rewritten in
place (same file, same slug: answers.entry_slug still leads to them) the way build_entry writes
an anonymous debrief today. Rewritten files name no deal, so a second run finds nothing to do.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from debrief import entries
from debrief.auth import users
from debrief.kb import service as kb
from debrief.store import Store
from debrief.survey import anonymity
from debrief.survey.service import build_entry

log = logging.getLogger("debrief.survey")


def anonymous_debriefs(store: Store) -> int:
    """Rewrite every anonymous debrief that still names its deal; returns how many were."""
    # Only debriefs with a Deal header can be of the old form: the index knows which, so the
    # files of every other answer are not read (init runs on every `make run`).
    named_deal = {
        fact["slug"]
        for fact in kb.get_index().facts()
        if fact["kind"] == "debrief" and fact["deal"] is not None
    }
    rewritten = 0
    for answer in store.table("answers").all():
        if answer.get("entry_slug") in named_deal and anonymity.is_anonymous(answer):
            entry = kb.answer_entry(answer)
            if entry is not None and entry.deal is not None:
                try:
                    kb.update(_today_form(store, entry, answer))
                except (OSError, ValueError):
                    log.exception("could not rewrite the anonymous debrief %s", entry.slug)
                    continue
                rewritten += 1
    return rewritten


def _today_form(store: Store, entry: entries.Entry, answer: dict) -> entries.Entry:
    """The old entry as build_entry writes it today, with what the file said beyond the answer.

    Date, rep, themes and the rep's reasons stay as the file has them (the deal may have changed
    since); title and body are built again from the answer kept verbatim in the store.
    """
    deal = store.table("deals").get(answer["deal_id"]) or {"id": answer["deal_id"]}
    rep = users.get_user(store, deal["rep_id"]) if deal.get("rep_id") else None
    # The body's "Where the stories differ" compares with the rep's reason of the time.
    then = {**deal, "rep_reason": entry.rep_reasons[0] if entry.rep_reasons else None}
    built = build_entry(then, rep["email"] if rep else entry.rep, answer)
    return replace(
        entry,
        title=built.title,
        body=built.body,
        deal=None,
        company=None,
        competitor=built.competitor and entry.competitor,
    )
