"""The knowledge base seen from the app: one search index per process, and publishing entries.

Every writer of entries (the survey, lessons, themes) goes through publish()/update()
here, so the file is written by entries.py and the index follows it at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from flask import current_app

from debrief import entries, taxonomy
from debrief.auth import users
from debrief.deals import service as deals
from debrief.index import Hit, Results, get_kb
from debrief.kb import competitors
from debrief.store import Store, get_store
from debrief.survey import anonymity, answers


def entries_dir() -> Path:
    """The folder of entry files."""
    return Path(current_app.config["ENTRIES_DIR"])


def publish(
    entry: entries.Entry, same: Callable[[entries.Entry], bool] | None = None
) -> entries.Entry:
    """Write a new entry file and index it; with `same`, not again if already written."""
    return get_kb().publish(entry, same)


def update(entry: entries.Entry) -> entries.Entry:
    """Rewrite an existing entry file and re-index it."""
    return get_kb().update(entry)


def remove(entry: entries.Entry) -> None:
    """Delete an entry's file and its row in the index (a file already gone is no error)."""
    get_kb().remove(entry)


def load(slug: str) -> entries.Entry | None:
    """The entry with that slug, or None (missing, or a file broken by hand)."""
    found = get_kb().read(slug)
    return found if isinstance(found, entries.Entry) else None


def read(slug: str) -> entries.Entry | entries.EntryError | None:
    """The entry with that slug, the reason its file cannot be read, or None when there is none."""
    return get_kb().read(slug)


def search(
    q: str,
    filters: dict[str, str],
    date_from: str | None,
    date_to: str | None,
    page: int,
    per_page: int = 20,
    typed: bool = False,
) -> Results:
    """One page of results for the /kb query, after picking up files changed by hand.

    typed: the words as typed, no "did you mean" correction ("search instead for ...").
    """
    return get_kb().search(
        q, date_from=date_from, date_to=date_to, page=page, per_page=per_page, typed=typed,
        **filters,
    )  # fmt: skip


def problems() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(path, reason) of every file the index skipped, and (path, warning) of every repair made
    reading a hand-written file (SPEC 2.4), as of a fresh look."""
    return get_kb().problems()


# --- a debrief and its deal, through its answer ------------------------------------------------
# An anonymous debrief's file names no deal (SPEC 2.3): its answer ties the two together
# (survey.answers.claimant), and only the deal's rep and the managers are shown that tie.


def entry_answer(entry: entries.Entry) -> dict[str, Any] | None:
    """The answer a debrief entry was written from, or None (a hand-written file, a lesson)."""
    if entry.kind != "debrief":
        return None
    answer = answers.claimant(get_store(), entry.slug)
    # A Deal header (named debriefs, and files of earlier versions) must be the answer's deal.
    if answer is None or entry.deal not in (None, answer.get("deal_id")):
        return None
    return answer


def answer_entry(answer: dict[str, Any]) -> entries.Entry | None:
    """The entry file written from this answer, or None (never written, or another's since)."""
    entry = load(answer["entry_slug"]) if answer.get("entry_slug") else None
    own = entry_answer(entry) if entry is not None else None
    return entry if own is not None and own["id"] == answer.get("id") else None


def answer_deal(slug: str) -> int | None:
    """The deal of the debrief with this slug, through its answer (for managers' pages)."""
    answer = answers.claimant(get_store(), slug)
    return answer.get("deal_id") if answer else None


def _debrief_slug(deal_id: int, rep: str | None) -> tuple[str | None, bool]:
    """A deal's debrief: (slug, whether anonymous), from its answer, else among the rep's."""
    answer = answers.for_deal(get_store(), deal_id)
    if answer is not None:
        entry = answer_entry(answer)
        anonymous = anonymity.is_anonymous(answer)
        if entry is not None or anonymous:
            return (entry.slug if entry else None), anonymous
    # A debrief file added by hand has no answer record; its Rep is the deal's rep.
    hits = get_kb().entries_for_deal(deal_id) if rep else []
    return next((h.slug for h in hits if h.kind == "debrief" and h.rep == rep), None), False


@dataclass
class Related:
    """What an entry page shows of the entry's deal, for one reader."""

    deal: int | None = None  # the deal's id, when this reader may open the deal
    lessons: list[Hit] = field(default_factory=list)  # the deal's lessons
    debrief: str | None = None  # a lesson's page: the slug of the deal's debrief
    may_write: bool = False  # whether this reader may tie a new lesson to the deal


def related(entry: entries.Entry, user: dict[str, Any] | None) -> Related:
    """For an entry tied to a deal: the deal's lessons and debrief, as far as this reader may know.

    Anyone reads a named debrief's lessons and is led from a lesson to a named debrief. An
    anonymous debrief is tied to its deal only for the deal's rep and the managers: nobody else
    sees its deal or lessons, or a link to it from a lesson (SPEC 2.3).
    """
    store = get_store()
    answer = entry_answer(entry)
    deal_id = answer.get("deal_id") if answer else entry.deal
    if deal_id is None:
        return Related()
    deal = deals.get_deal(store, deal_id)
    knows = users.may_see_deal(user, deal)
    shown = Related(deal=deal_id if knows else None, may_write=knows)
    if entry.kind == "debrief":
        if answer is not None and anonymity.is_anonymous(answer) and not knows:
            return shown
    else:
        slug, anonymous = _debrief_slug(deal_id, entry.rep)
        shown.debrief = slug if knows or not anonymous else None
    shown.lessons = [h for h in deal_lessons(deal_id, deal, entry.rep) if h.slug != entry.slug]
    return shown


def deal_lessons(deal_id: int, deal: dict[str, Any] | None, author: str | None = None) -> list[Hit]:
    """A deal's lessons, newest first: by its rep, a manager or author (a lesson's own writer)."""
    # A lesson is tied to a deal only by the deal's rep or a manager (users.may_see_deal), so their
    # lessons are the ones listed. The index finds a deal's few entries by its deal column
    # (one indexed lookup), not by browsing each author's lessons, which grows with their count.
    store = get_store()
    owner = users.get_user(store, deal["rep_id"]) if deal and deal.get("rep_id") else None
    authors = {author, owner["email"] if owner else None} - {None}
    authors |= {u["email"] for u in users.list_users(store) if u["role"] == "manager"}
    lessons = [
        hit
        for hit in get_kb().entries_for_deal(deal_id)
        if hit.kind == "lesson" and hit.rep in authors
    ]
    lessons.sort(key=lambda hit: (hit.date, hit.slug), reverse=True)
    return lessons


def wrote_lesson(deal_id: int, email: str) -> bool:
    """Whether this account has a lesson tied to the deal (one indexed lookup)."""
    email = email.lower()
    return any(
        hit.kind == "lesson" and (hit.rep or "").lower() == email
        for hit in get_kb().entries_for_deal(deal_id)
    )


_labellers: dict[tuple, Callable[[str, str], str]] = {}


def labels_key() -> tuple:
    """What every label is made of (accounts, themes, competitor names): keys labelled HTML."""
    store = get_store()
    return (
        store.root,  # one process may serve several data folders (tests do)
        store.table("users").version(),
        store.table("themes").version(),
        competitors.names(store, _cache_dir())[0],
    )


def _cache_dir() -> Path:
    """Where derived files are kept (<DATA_DIR>/cache/, safe to delete)."""
    return Path(current_app.config["DATA_DIR"]) / "cache"


def labeller() -> Callable[[str, str], str]:
    """A function giving the label a person reads for a facet value (names, not emails or slugs)."""
    # Built again only when an account, a theme or a competitor's name changed: every results
    # and entry page asks.
    key = labels_key()
    if key not in _labellers:
        _labellers.clear()
        _labellers[key] = _labeller(get_store())
    return _labellers[key]


def _labeller(store: Store) -> Callable[[str, str], str]:
    """labeller() for the store's accounts, themes and competitor names as they are now."""
    names = {u["email"].lower(): u["name"] for u in users.list_users(store)}
    themes = {t.get("slug"): t.get("name") for t in store.table("themes").all()}
    rivals = competitors.names(store, _cache_dir())[1]
    kinds = {"debrief": "Debrief", "lesson": "Lesson"}

    def label(facet: str, value: str) -> str:
        if facet == "kind":
            return kinds.get(value, value)
        if facet == "reason":
            return taxonomy.reason_label(value)
        if facet == "theme":
            return themes.get(value) or value
        if facet == "rep":
            return names.get(str(value).lower(), value)
        if facet == "outcome":
            return taxonomy.outcome_label(value)
        if facet == "competitor":
            return rivals.get(value) or value
        return value

    return label


def export(out: IO[bytes]) -> tuple[int, int]:
    """Write the export zip to a binary file; returns (entry files, answers) written."""
    from debrief.kb.export import write_zip

    store = get_store()
    every = answers.every(store)
    return write_zip(out, entries_dir(), every, deals.deals_by_id(store)), len(every)
