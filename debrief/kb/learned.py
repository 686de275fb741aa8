"""What the team learned: the knowledge base's best entries for one deal's competitor and reasons
(and sharing(), the search by competitor and reasons the weekly digest makes too).

Found through the search index's query (filters competitor=<slug> and reason=<slug>), never by
reading files. "Best" means sharing the most with the deal (the competitor counts as two reasons),
then newest. The deal's own entries are left out: its lessons are listed apart, and its debrief
(anonymous ones name no deal) is found through its answer. A hit shows its title, kind, date and
what it shares with the deal, nothing of the deal it came from, so another rep's anonymous debrief
listed here cannot be tied to its deal (SPEC 2.3).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from debrief import entries
from debrief.index import Hit, KnowledgeBase, get_kb
from debrief.store import get_store
from debrief.survey import answers

SHOWN = 6  # a short list to read before writing a lesson, not a search page
POOL = 20  # newest entries looked at per competitor or reason
MAX_REASONS = 4  # the main reasons: later ones add searches more than they add lessons


@dataclass
class Learned:
    """One entry worth reading beside a deal, with what it shares with the deal."""

    hit: Hit
    competitor: bool  # the same competitor as the deal
    reasons: list[str]  # reason slugs it shares with the deal (rep's or buyer's)


def deal_reasons(deal: dict[str, Any], answer: dict[str, Any] | None) -> list[str]:
    """The deal's reasons, the rep's main one first, then the buyer's, then the others."""
    answer = answer or {}
    reasons = [deal.get("rep_reason"), answer.get("reason")]
    reasons += [*(deal.get("rep_reasons") or []), *(answer.get("reasons") or [])]
    return [r for r in dict.fromkeys(reasons) if r][:MAX_REASONS]


def sharing(
    kb: KnowledgeBase,
    wanted: Iterable[tuple[str, str]],
    per_page: int,
    date_from: str | None = None,
    date_to: str | None = None,
) -> dict[str, tuple[Hit, list[tuple[str, str]]]]:
    """The newest entries with any of the wanted (facet, slug) pairs (a competitor, a reason),
    each with the pairs it was found by, in the order asked (this page and the digest)."""
    found: dict[str, tuple[Hit, list[tuple[str, str]]]] = {}
    for facet, slug in wanted:
        results = kb.search(
            **{facet: slug}, date_from=date_from, date_to=date_to, per_page=per_page
        )
        for hit in results.hits:
            found.setdefault(hit.slug, (hit, []))[1].append((facet, slug))
    return found


def for_deal(deal: dict[str, Any]) -> list[Learned]:
    """The team's best lessons and debriefs for this deal's competitor and reasons."""
    answer = answers.for_deal(get_store(), deal["id"])
    competitor = entries.slugify(deal.get("competitor") or "")
    reasons = deal_reasons(deal, answer)
    own = {answer.get("entry_slug")} if answer else set()
    wanted = [("competitor", competitor)] if competitor else []
    wanted += [("reason", reason) for reason in reasons]
    found = [
        Learned(
            hit=hit,
            competitor=bool(competitor) and hit.competitor == competitor,
            reasons=[r for r in reasons if r in {*hit.prospect_reasons, *hit.rep_reasons}],
        )
        for hit, _ in sharing(get_kb(), wanted, POOL).values()
        if hit.slug not in own and hit.deal != deal["id"]
    ]
    best = sorted(found, key=lambda item: (item.hit.date, item.hit.slug), reverse=True)
    best.sort(key=lambda item: 2 * item.competitor + len(item.reasons), reverse=True)
    return best[:SHOWN]
