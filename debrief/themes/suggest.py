"""Suggested themes for untagged entries, from the tagged entries most like them.

Similarity comes from the search index itself: each untagged entry's most frequent content
words (and its reasons and competitor) are searched one by one; every tagged entry found scores
by BM25 rank, weighted by how rare the word is (fewer results, more telling). The themes of the
best-scoring tagged entries are the suggestions, shown with the entries they came from.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

from debrief.entries import plain_text
from debrief.index import get_kb
from debrief.kb import service as kb

TERMS = 8  # words searched per entry
NEIGHBOURS = 15  # hits looked at per word
TOP_ENTRIES = 5  # similar tagged entries kept per suggestion list
TOP_THEMES = 3
PER_PAGE = 10  # untagged entries per page: each costs TERMS searches
_WORD = re.compile(r"[^\W\d_]{4,}")
STOPWORDS = frozenset(
    """
    about above after again against also although always among another anything because been
    before being below between both cannot could does doing down during each even ever every
    from further given have having here however into itself just know like made make many more
    most much must never only other others ours over same should since some such than that
    their theirs them then there these they thing things this those though through under until
    upon very want were what when where which while will with without would your yours yourself
    really still said told felt feel came come went going well back first last next time
    didn wasn weren isn aren doesn don hadn hasn haven won wouldn shouldn couldn
    """.split()  # noqa: SIM905 - a word list reads best as text
)


@dataclass
class Suggestion:
    """One untagged entry, the themes suggested for it, and the similar entries behind each."""

    slug: str
    title: str
    date: str
    themes: list[tuple[str, float, list[dict]]] = field(default_factory=list)


def key_terms(text: str, extra: list[str], limit: int = TERMS) -> list[str]:
    """The entry's most frequent content words, after its reasons and competitor."""
    counts = Counter(w for w in _WORD.findall(text.lower()) if w not in STOPWORDS)
    words = [w for w, _ in counts.most_common(limit * 2)]
    return list(dict.fromkeys([*extra, *words]))[:limit]


def suggest_for(slug: str, total: int, cache: dict) -> Suggestion | None:
    """Suggestions for one entry (None when its file is gone); cache holds searches by word."""
    entry = kb.load(slug)
    if entry is None:
        return None
    extra = [r for r in entry.prospect_reasons + entry.rep_reasons if r != "other"]
    extra += [entry.competitor] if entry.competitor else []
    terms = key_terms(f"{entry.title}\n{plain_text(entry.body)}", extra)
    knowledge = get_kb()
    scores: Counter[str] = Counter()
    hits_by_slug: dict[str, object] = {}
    for term in terms:
        if term not in cache:
            cache[term] = knowledge.search(term, per_page=NEIGHBOURS)
        results = cache[term]
        if not results.total:
            continue
        rarity = math.log(1 + total / results.total)
        for rank, hit in enumerate(results.hits):
            if hit.slug != slug and hit.themes:
                scores[hit.slug] += rarity / (1 + rank)
                hits_by_slug[hit.slug] = hit
    suggestion = Suggestion(slug, entry.title, entry.date.isoformat())
    theme_scores: Counter[str] = Counter()
    sources: dict[str, list[dict]] = {}
    for neighbour, score in scores.most_common(TOP_ENTRIES):
        hit = hits_by_slug[neighbour]
        for theme in hit.themes:
            theme_scores[theme] += score
            sources.setdefault(theme, []).append({"slug": hit.slug, "title": hit.title})
    suggestion.themes = [
        (t, round(s, 2), sources[t]) for t, s in theme_scores.most_common(TOP_THEMES)
    ]
    return suggestion


def untagged(page: int = 1) -> tuple[list[str], int]:
    """One page of untagged entry slugs (newest first), and how many there are."""
    knowledge = get_kb()
    slugs = [f["slug"] for f in knowledge.facts() if not f["themes"]]
    start = (max(page, 1) - 1) * PER_PAGE
    return slugs[start : start + PER_PAGE], len(slugs)


def suggestions(page: int = 1, known: set[str] | None = None) -> tuple[list[Suggestion], int]:
    """Suggestions for one page of untagged entries; only themes still in `known` are offered."""
    slugs, count = untagged(page)
    total = get_kb().entry_count() or 1
    cache: dict = {}
    out = []
    for slug in slugs:
        suggestion = suggest_for(slug, total, cache)
        if suggestion is None:
            continue
        if known is not None:
            suggestion.themes = [t for t in suggestion.themes if t[0] in known]
        out.append(suggestion)
    return out, count
