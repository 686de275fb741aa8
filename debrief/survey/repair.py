"""Entries owed by answers (cut off by a kill or a full disk): found, written once, checkpointed."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from debrief.deals import invitations
from debrief.index import IndexWriteError, get_kb
from debrief.kb import service as kb
from debrief.store import Store, Table
from debrief.survey.answer_entry import entry_of_answer, is_entry_of, write_entry
from debrief.survey.link import OPEN_STATUSES, close_link

log = logging.getLogger("debrief.survey")

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
            result = settle(store, answer)
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


def settle(store: Store, answer: dict[str, Any]) -> str:
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
    wanted = entry_of_answer(store, answer)
    found = kb.load(slug) if slug else None
    if found is not None and is_entry_of(found, wanted):
        return "present"
    invitation = store.table("invitations").get(answer["invitation_id"])
    if invitation is not None and invitation["status"] in OPEN_STATUSES:
        close_link(store, invitation["id"])
        invitation = store.table("invitations").get(answer["invitation_id"])
    closed = invitation is None or invitation["status"] == "answered"
    submitted = datetime.fromisoformat(answer["submitted"])
    if not closed and submitted > invitations.now() - IN_FLIGHT:
        return "waiting"
    _, written = write_entry(store, answer, wanted)
    return "written" if written else "owed"


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
