"""Lessons: a rep's Markdown note, tied to one of their deals or standing alone.

The lesson is an entry file (Kind: lesson, Rep: the author's email, Deal: the deal id or none);
there is no table. Writing goes through kb.service.publish/update so the index follows at once.
"""

from __future__ import annotations

import datetime
from dataclasses import replace
from typing import Any

from markupsafe import Markup

from debrief import entries
from debrief.auth import users
from debrief.deals import service as deals
from debrief.kb import service
from debrief.store import get_store

TITLE_MAX = 150
BODY_MAX = 20_000
DEAL_CHOICES_MAX = 200  # a select longer than this is no help; older deals can be linked by URL


class LessonError(ValueError):
    """A lesson that cannot be saved as asked; str() is the message for the author."""


def can_edit(entry: entries.Entry, user: dict[str, Any]) -> bool:
    """The lesson's author (its Rep: header) and managers may edit it."""
    if entry.kind != "lesson":
        return False
    if users.is_manager(user):
        return True
    return bool(entry.rep) and entry.rep.strip().lower() == user["email"].lower()


def _deal_label(deal: dict[str, Any]) -> str:
    """How a deal reads in the lesson form's list."""
    lost = f", lost {deal['lost_on']}" if deal.get("lost_on") else ""
    return f"#{deal['id']} {deal.get('company') or 'Unnamed'}{lost}"


def deal_choices(user: dict[str, Any], wanted: str | None = None) -> list[tuple[str, str]]:
    """The deals a lesson may be tied to: the author's own, newest first, after 'no deal'."""
    own = sorted(
        deals.deals_of_rep(get_store(), user["id"]),
        key=lambda d: (d.get("lost_on") or "", d["id"]),
        reverse=True,
    )[:DEAL_CHOICES_MAX]
    linked = linked_deal(user, wanted)
    if linked is not None and all(d["id"] != linked["id"] for d in own):
        # A deal asked for by link (?deal=ID) may be older than the list, or, for a manager,
        # another rep's deal; it is offered only if this account may tie a lesson to it.
        own.insert(0, linked)
    return [("", "No deal: a lesson standing alone")] + [
        (str(d["id"]), _deal_label(d)) for d in own
    ]


def linked_deal(user: dict[str, Any], wanted: str | None) -> dict[str, Any] | None:
    """The deal a link asks to write about (?deal=ID), if this account may open it; else None."""
    deal = deals.get_deal(get_store(), int(wanted)) if _is_id(wanted) else None
    return deal if deal is not None and may_use_deal(deal, user) else None


def _is_id(value: object) -> bool:
    """Whether user input is a plausible record id (ASCII digits only, not absurdly long)."""
    # Not str.isdigit(): it takes "²" and "٣", which int() refuses or reads as another number.
    return (
        isinstance(value, str | int)
        and str(value).isascii()
        and str(value).isdigit()
        and len(str(value)) <= 18
    )


def may_use_deal(deal: dict[str, Any], user: dict[str, Any]) -> bool:
    """A rep ties lessons to their own deals; a manager to any deal."""
    return users.may_see_deal(user, deal)


def _deal(deal_id: str | int | None, user: dict[str, Any]) -> dict[str, Any] | None:
    """The deal to tie the lesson to, checked again at save time (the list may be stale)."""
    if deal_id in (None, ""):
        return None
    deal = linked_deal(user, str(deal_id))
    if deal is None:
        raise LessonError("Choose one of your own deals, or no deal.")
    return deal


def preview(body: str) -> Markup:
    """The lesson body as it will show on its page: rendered, then sanitized."""
    return entries.render_body(
        entries.Entry(kind="lesson", title="preview", date=_today(), body=body)
    )


def _today() -> datetime.date:
    """Today's date (one place, so a lesson's date and its file name agree)."""
    return datetime.date.today()


def create(user: dict[str, Any], title: str, body: str, deal_id: str | int | None) -> entries.Entry:
    """Write a new lesson by this account and index it; the deal's facts go in its header."""
    deal = _deal(deal_id, user)
    reasons = []
    if deal is not None:
        reasons = [r for r in [deal.get("rep_reason"), *(deal.get("rep_reasons") or [])] if r]
    entry = entries.Entry(
        kind="lesson",
        title=title,
        date=_today(),
        body=body,
        deal=deal["id"] if deal else None,
        rep=user["email"],
        # The deal's competitor and the rep's reasons make the lesson turn up under the same
        # facets as the deal's debrief; the company is left out, as in anonymous debriefs.
        competitor=deal.get("competitor") if deal else None,
        rep_reasons=reasons,
    )
    return service.publish(entry)


def edit(entry: entries.Entry, user: dict[str, Any], title: str, body: str) -> entries.Entry:
    """Rewrite a lesson's title and body (same file, same slug; themes and date kept)."""
    if not can_edit(entry, user):
        raise LessonError("Only the lesson's author or a manager can edit it.")
    return service.update(replace(entry, title=title, body=body))
