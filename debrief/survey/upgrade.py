"""Bring debrief entries written by earlier versions to today's form (run by `debrief init`).

Earlier versions wrote an anonymous debrief with `Deal: N` in its header, "Deal N: ..." as its
title (so "...-deal-N-..." as its file name and address) and the buyer's and the rep's words as
given, names and all. Each such file is written again the way build_entry writes an anonymous
debrief today, under a name of today's form; the answer's entry_slug is moved to it, then the old
file is deleted. A kill between two of these steps is finished by the next run: the new file is
found again rather than written twice (is_entry_of), and an old file whose answer has moved on is
deleted. Moved files name no deal, so a second run finds nothing to do.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import Any

from debrief import entries
from debrief.auth import users
from debrief.index import get_kb
from debrief.kb import service as kb
from debrief.store import Store
from debrief.survey import anonymity
from debrief.survey.answer_entry import build_entry, is_entry_of

log = logging.getLogger("debrief.survey")

_OLD_NAME = re.compile(r"\d{4}-\d{2}-\d{2}-deal-(\d{1,18})-")  # <date>-deal-N-<summary>


def anonymous_debriefs(store: Store) -> int:
    """Move every anonymous debrief that still names its deal to today's form; how many were."""
    # Only debriefs with a Deal header, or a name made from a "Deal N: ..." title (the header
    # taken out by hand), can be of the old form: the index knows which, so the files of every
    # other answer are not read (init runs on every `make run`).
    named_deal = [
        (slug, deal)
        for slug, indexed in get_kb().slug_deals("debrief")
        if (deal := _deal_named(slug, indexed))
    ]
    anonymous: dict[int, list[dict[str, Any]]] = {}
    if named_deal:
        # One pass over the answers: a lookup per named debrief walked every shard each time.
        for answer in store.table("answers").all():
            if anonymity.is_anonymous(answer):
                anonymous.setdefault(answer["deal_id"], []).append(answer)
    moved = 0
    for slug, deal_id in named_deal:
        for answer in anonymous.get(deal_id, ()):
            try:
                moved += _upgrade(store, slug, answer)
            except (OSError, ValueError):
                log.exception("could not move the anonymous debrief %s", slug)
    return moved


def _upgrade(store: Store, slug: str, answer: dict[str, Any]) -> bool:
    """Move the answer's old-form file, or delete a copy a cut-off move left; whether moved."""
    if answer.get("entry_slug") == slug:
        old = kb.answer_entry(answer)
        if old is None or not _names_deal(old, answer["deal_id"]):
            return False
        new = entries.normalized(replace(_today_form(store, old, answer), slug="", path=None))
        written = kb.publish(new, same=lambda found: is_entry_of(found, new))
        _point_answer(store, answer, written.slug)
        kb.remove(old)  # last: until now, the answer or the old file leads to the debrief
        return True
    # A move cut off after the answer was moved on: the old file is its copy in the old form.
    current, left = kb.answer_entry(answer), kb.load(slug)
    if current is None or left is None or not _names_deal(left, answer["deal_id"]):
        return False
    if is_entry_of(current, entries.normalized(_today_form(store, left, answer))):
        kb.remove(left)
    return False


def _deal_named(slug: str, deal: int | None) -> int | None:
    """The deal a debrief's header (`deal`, as indexed) or file name gives, or None."""
    old = _OLD_NAME.match(slug)
    return deal if deal is not None else int(old.group(1)) if old else None


def _names_deal(entry: entries.Entry, deal_id: int) -> bool:
    """Whether an entry names its deal, in its header, its title or its file name."""
    return entry.deal is not None or bool(
        re.match(rf"Deal {deal_id}\b", entry.title) or _OLD_NAME.match(entry.slug)
    )


def _point_answer(store: Store, answer: dict[str, Any], slug: str) -> None:
    """Lead the answer (and so its deal's pages) to its entry's new file."""
    store.table("answers").update(answer["id"], {"entry_slug": slug})


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
