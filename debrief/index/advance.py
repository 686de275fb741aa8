"""Taking entries added since a ranking was made into it, instead of ranking anew."""

# SQL text here is assembled only from module constants and "?" placeholders.
# ruff: noqa: S608

from __future__ import annotations

import sqlite3
from array import array
from collections import Counter

from debrief.index import recent
from debrief.index.facts import FactsFrom, FactTable, Filters, facets_from_codes
from debrief.index.meaning import Plan
from debrief.index.results import Ranking
from debrief.index.search import RANK_POOL, tier_scores


def advance(
    conn: sqlite3.Connection,
    old: Ranking,
    facts_from: FactsFrom,
    filters: Filters,
    plan: Plan | None,
    added: list[int],
) -> Ranking | None:
    """The ranking after entries `added` (ids above all earlier ones) joined; None: start over.

    Every answer adds an entry, and a ranking computed from scratch costs a pass over every
    match: this takes in just the new entries. BM25 scores of the earlier matches stay as
    computed (the corpus statistics moved by a few entries).
    """
    if old.counts is None or (plan is not None and old.scores is None):
        return None
    if not added:
        return old  # a write that added no entry (a sync's bookkeeping): nothing to take in
    # A search's pool and the new ids have their facts loaded from the pool's oldest id up (a
    # broad search loads no older ones); browsing places entries among all of them.
    facts = facts_from(min(min(old.ranked, default=0), min(added)) if plan is not None else 0)
    fresh = facts.select(added, filters)
    if not fresh:
        # Most answers match neither the words nor the filters of a given search: its ranking
        # stands as it was (no re-sorting of its pool on every search after every answer).
        return old
    if plan is None:
        return _advance_browse(old, facts, fresh)
    if old.partial is not None:
        # Few full matches, and partial ones after them: a new entry may change which is
        # which. Rare (a search with few matches), so such a ranking starts over when touched.
        return None if set(fresh) & set(_rowids_from(conn, plan.any, min(fresh))) else old
    return _advance_search(conn, old, facts, plan, fresh)


def _advance_browse(old: Ranking, facts: FactTable, fresh: list[int]) -> Ranking:
    """advance() without words: the new entries put in their place by date."""
    counts = (old.counts or Counter()) + facts.count(fresh)
    ranked = array("q", old.ranked)  # a copy: the old ranking may be in use by another thread
    for i in fresh:
        place, key = 0, facts.key(i)
        # New entries are usually the newest: their place is at or near the front.
        while place < len(ranked) and facts.key(ranked[place]) > key:
            place += 1
        ranked.insert(place, i)
    return Ranking(ranked=ranked, facets=facets_from_codes(counts), counts=counts)


def _advance_search(
    conn: sqlite3.Connection, old: Ranking, facts: FactTable, plan: Plan, fresh: list[int]
) -> Ranking:
    """advance() of a search: the new entries that match are scored into the pool."""
    # The added ids are above every earlier one: FTS5 seeks to that rowid range instead of
    # testing the whole match set against a list; in the tables the ranking was scored in.
    wanted = set(fresh)
    tables = recent.tables_for(conn, fresh) if old.recent else recent.MAIN
    new_scores = {
        i: score
        for i, score in tier_scores(conn, plan, "rowid >= ?", (min(fresh),), None, tables).items()
        if i in wanted
    }
    fresh = [i for i in fresh if i in new_scores]
    if not fresh:
        return old  # none has the words: the ranking stands
    counts = (old.counts or Counter()) + facts.count(fresh)
    scores = {**(old.scores.as_dict() if old.scores else {}), **new_scores}
    pool = sorted([*old.ranked, *fresh])
    # A broad search's rest not read yet stays unread: it is every match outside the pool.
    rest = None if old.rest is None and old.matched is not None else array("q", old.rest or ())
    if len(pool) > RANK_POOL:  # the pool stays the newest RANK_POOL matches
        if rest is not None:  # a copy, as above
            rest.extend(pool[: len(pool) - RANK_POOL])
        pool = pool[len(pool) - RANK_POOL :]
    ranked = facts.newest_first(pool)
    ranked.sort(key=lambda i: scores.get(i, 0.0))
    return Ranking(
        ranked=ranked,
        facets=facets_from_codes(counts),
        rest=rest,
        unsorted=bool(rest),  # page() sorts the rest again, new ones included
        counts=counts,
        scores={i: scores[i] for i in pool if i in scores},
        matched=None if old.matched is None else old.matched + len(fresh),
        about=old.about,
        recent=tables is recent.RECENT,
    )


def _rowids_from(conn: sqlite3.Connection, match: str, low: int) -> list[int]:
    """The rowids from `low` up matching an expression."""
    rows = conn.execute("SELECT rowid FROM fts WHERE fts MATCH ? AND rowid >= ?", (match, low))
    return [row[0] for row in rows]
