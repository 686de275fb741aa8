"""The buyers' answers as other features ask about them: an entry's answer, a deal's answer.

Plain lookups in the store (no Flask, no knowledge base): the knowledge base asks the survey here
which answer wrote a debrief instead of reading the survey's table; survey/service.py writes them.
"""

from __future__ import annotations

from typing import Any

from debrief.store import Store


def claimant(store: Store, slug: str | None) -> dict[str, Any] | None:
    """The one answer whose entry_slug is this slug; None when none or several claim it."""
    found = store.table("answers").find("entry_slug", slug) if slug else []
    # The slug is stored before its file is written: after a kill in between, a later answer
    # may have been given the same free name and written it. Then the file is not surely theirs.
    return found[0] if len(found) == 1 else None


def for_deal(store: Store, deal_id: int) -> dict[str, Any] | None:
    """The buyer's answer on a deal, or None."""
    return store.table("answers").find_one("deal_id", deal_id)


def every(store: Store) -> list[dict[str, Any]]:
    """Every answer (the exports, the digest)."""
    return store.table("answers").all()
