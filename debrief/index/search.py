"""Running one search over the index: tiers of meaning, BM25 ranking, snippets and facets."""

# SQL text here is assembled only from module constants and "?" placeholders; every value from
# a user or a file is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import json
import sqlite3
from collections import Counter

from debrief.index import recent
from debrief.index.facts import FactsFrom, FactTable, Filters, facets_from_codes
from debrief.index.meaning import Plan
from debrief.index.recent import MAIN, RECENT, Tables
from debrief.index.results import (
    Ranking,
)

# A query matching more entries than this is ranked by BM25 among its newest RANK_POOL matches
# (by index order); the total and the facets still count every match. Scoring costs time per
# row, so this bounds the slowest searches without changing results for ordinary ones.
RANK_POOL = 1000
# A search without filters matching more entries than this counts its facets among its newest
# SAMPLE matches (estimates, said so on the page): bringing every match's id into Python to
# filter and count was most of a broad search's first time. Its total is counted by SQLite,
# unless the newest entries (recent.py) hold RECENT_ENOUGH of its matches: then it is ranked,
# sampled and estimated among those alone (its pool and sample: their newest RANK_POOL). Its
# pages past the ranked pool read the rest of the matches when first asked for (the total is
# then exact).
SAMPLE = 3000
# Enough to estimate a total from (within about 7%), and a full first page many times over; a
# search with fewer matches among the newest entries may have few matches at all, and is
# searched in the whole index (a search of rare words costs little there).
RECENT_ENOUGH = 200
# A broad search among the newest entries samples its ranked pool alone: its total and facets
# are estimates either way, and 1,000 matches put them within a few percent (a facet value
# held by 5% of the matches within about 14%), at a third of the reading.
RECENT_SAMPLE = RANK_POOL
# When fewer entries than this have every word (after synonyms), entries with some of the words
# follow them, most words first, marked as partial matches (SPEC 2.5).
PARTIAL_BELOW = 5
# Exact words rank above their other forms and spellings, those above synonyms (SPEC 2.5): a
# score is tier * TIER + BM25, and BM25 (negative, better is lower) never spans a tier.
TIER = 1e6
EXACT, FORMS, SYNONYMS, PARTIAL = 0, 1, 2, 3


def rank_browse(conn: sqlite3.Connection, facts_from: FactsFrom, filters: Filters) -> Ranking:
    """No query text: the filtered entries newest first (filters run in SQL, on indexes)."""
    facts = facts_from(0)
    where, params = filters_sql(filters)
    ids = [
        row[0]
        for row in conn.execute(
            f"SELECT e.id FROM entry e WHERE {where} ORDER BY e.date DESC, e.id DESC", params
        )
    ]
    ids = facts.known(ids)
    counts = facts.count(ids)
    return Ranking(ranked=ids, facets=facets_from_codes(counts), counts=counts)


def filters_sql(filters: Filters) -> tuple[str, list]:
    """SQL conditions on entry `e` for the filters (the same rules as Filters.accepts)."""
    conditions, params = ["1"], []
    for column in ("kind", "competitor", "rep"):
        if getattr(filters, column):
            conditions.append(f"e.{column} = ?")
            params.append(getattr(filters, column))
    for facet in ("theme", "reason"):
        if getattr(filters, facet):
            conditions.append(
                "e.id IN (SELECT entry_id FROM entry_tag WHERE facet = ? AND value = ?)"
            )
            params += [facet, getattr(filters, facet)]
    if filters.date_from:
        conditions.append("e.date >= ?")
        params.append(filters.date_from)
    if filters.date_to:
        conditions.append("e.date <= ?")
        params.append(filters.date_to)
    return " AND ".join(conditions), params


def tier_scores(
    conn: sqlite3.Connection,
    plan: Plan,
    where: str,
    params: tuple,
    bm25: dict[int, float] | None = None,
    tables: Tables = MAIN,
) -> dict[int, float]:
    """Tier and BM25 of the full matches among some rows (`where`: a condition on rowid).

    A row has the exact words (exact table), or their forms and spellings, or else needed a
    synonym: three cheap rowid passes over the same rows, then one BM25 pass (none when `bm25`
    holds those rows' BM25 already). tables: RECENT when the rows are all recent ones.
    """
    forms_table, exact_table = tables.forms, tables.exact
    exact = {
        row[0]
        for row in conn.execute(
            f"SELECT rowid FROM {exact_table} WHERE {exact_table} MATCH ? AND {where}",
            (plan.exact, *params),
        )
    }
    forms = None
    if plan.forms != plan.meant:  # else every full match has the words in some form
        forms = {
            row[0]
            for row in conn.execute(
                f"SELECT rowid FROM {forms_table} WHERE {forms_table} MATCH ? AND {where}",
                (plan.forms, *params),
            )
        }
    if bm25 is None:
        rows = conn.execute(
            f"SELECT rowid, {tables.bm25} FROM {forms_table} WHERE {forms_table} MATCH ?"
            f" AND {where}",
            (plan.meant, *params),
        )
    else:
        rows = bm25.items()
    scores = {}
    for rowid, bm25 in rows:
        if rowid in exact:
            tier = EXACT
        elif forms is None or rowid in forms:
            tier = FORMS
        else:
            tier = SYNONYMS
        scores[rowid] = tier * TIER + bm25
    return scores


def _rowids(conn: sqlite3.Connection, match: str) -> list[int]:
    """The rowids matching an expression, ascending ([] for one FTS5 refuses)."""
    try:
        return [row[0] for row in conn.execute("SELECT rowid FROM fts WHERE fts MATCH ?", (match,))]
    except sqlite3.OperationalError:
        # Quoting makes this unreachable in practice; a bad query is still never a 500.
        return []


def _newest(
    conn: sqlite3.Connection, match: str, tables: Tables = MAIN, sample: int | None = None
) -> tuple[dict[int, float], list[int]]:
    """The newest RANK_POOL matches of an expression with their BM25, and the next older ones
    up to `sample` (else SAMPLE) in all (ids only), each largest first.

    BM25 for the pool only: with a query's synonyms it weighs a dozen phrases in every row it
    scores, and BM25's per-phrase counts are read once per statement, whatever it scores.
    """
    fts = tables.forms
    pool_sql = (
        f"SELECT rowid, {tables.bm25} FROM {fts} WHERE {fts} MATCH ? ORDER BY rowid DESC LIMIT ?"
    )
    older_sql = (
        f"SELECT rowid FROM {fts} WHERE {fts} MATCH ? AND rowid < ? ORDER BY rowid DESC LIMIT ?"
    )
    try:
        pool = dict(conn.execute(pool_sql, (match, RANK_POOL)).fetchall())
        if len(pool) < RANK_POOL:
            return pool, []
        sample = SAMPLE if sample is None else sample
        if sample <= RANK_POOL:
            return pool, []
        rows = conn.execute(older_sql, (match, min(pool), sample - RANK_POOL))
        return pool, [row[0] for row in rows]
    except sqlite3.OperationalError:
        return {}, []  # as in _rowids


def _pool_bm25(bm25: dict[int, float] | None, pool: list[int]) -> dict[int, float] | None:
    """The BM25 of the pool's ids from what was read with them (None: not all were)."""
    if bm25 is None or any(i not in bm25 for i in pool):
        return None
    return {i: bm25[i] for i in pool}


def rest_of(conn: sqlite3.Connection, facts: FactTable, plan: Plan, ranking: Ranking) -> list[int]:
    """The matches of a broad search beyond its ranked pool (ascending), read on first need."""
    pooled = set(ranking.ranked)
    return [i for i in facts.known(_rowids(conn, plan.meant)) if i not in pooled]


def _rank_broad(
    conn: sqlite3.Connection,
    facts: FactTable,
    plan: Plan,
    bm25: dict[int, float],
    sample: list[int],
    total: int,
    tables: Tables = MAIN,
) -> Ranking:
    """rank_search() of a broad search: without filters, with SAMPLE matches or more, or with
    RECENT_ENOUGH among the newest entries (`tables` RECENT, `total` then an estimate). The
    newest RANK_POOL are ranked (`bm25`: theirs), the facets estimated from the newest matches
    read (`sample`, ascending: SAMPLE of them, RECENT_SAMPLE in the recent tables)."""
    sample = facts.known(sample)
    pool = sample[-RANK_POOL:]
    scores = {}
    if pool:
        pooled = _pool_bm25(bm25, pool)
        scores = tier_scores(conn, plan, "rowid >= ?", (pool[0],), pooled, tables)
    ranked = facts.newest_first(pool)
    ranked.sort(key=lambda i: scores.get(i, 0.0))
    scale = total / max(len(sample), 1)
    estimates = Counter({code: _about(n * scale) for code, n in facts.count(sample).items()})
    return Ranking(
        ranked=ranked,
        facets=facets_from_codes(estimates),
        counts=estimates,
        scores=scores,
        matched=total,
        about=tables is RECENT,
        recent=tables is RECENT,
    )


def _estimated_total(facts: FactTable, sample: list[int], entries: int) -> int:
    """A total estimated from the newest matches (ascending): their share of the entries they
    span, times all `entries`."""
    return _about(len(sample) * entries / max(facts.entries_from(sample[0]), 1))


def _counted_total(conn: sqlite3.Connection, plan: Plan) -> int:
    """Every full match counted by SQLite."""
    return conn.execute("SELECT count(*) FROM fts WHERE fts MATCH ?", (plan.meant,)).fetchone()[0]


def _about(n: float) -> int:
    """An estimate rounded to two significant figures (at least 1)."""
    if n < 100:
        return max(1, round(n))
    step = 10 ** (len(str(int(n))) - 2)
    return int(round(n / step) * step)


def rank_search(
    conn: sqlite3.Connection, facts_from: FactsFrom, filters: Filters, plan: Plan, entries: int
) -> Ranking:
    """The filtered matches: exact words, then forms, then synonyms, each tier by BM25 (title
    above body); then the rest newest first; then, when few have every word, partial matches.
    entries: how many the index holds (a broad search's total is estimated from it)."""
    bm25 = None
    if filters:
        matched = _rowids(conn, plan.meant)
    else:
        if recent.low(conn) > 1:  # else the recent tables are the whole index
            bm25, older = _newest(conn, plan.meant, RECENT, RECENT_SAMPLE)
            if len(bm25) >= RECENT_ENOUGH:
                matched = [*reversed(older), *reversed(bm25)]
                facts = facts_from(matched[0])
                total = _estimated_total(facts, matched, entries)
                return _rank_broad(conn, facts, plan, bm25, matched, total, RECENT)
        bm25, older = _newest(conn, plan.meant)
        matched = [*reversed(older), *reversed(bm25)]  # ascending
        if len(matched) >= SAMPLE:
            total = _counted_total(conn, plan)
            return _rank_broad(conn, facts_from(matched[0]), plan, bm25, matched, total)
        # else they are every match
    facts = facts_from(matched[0] if matched and not filters else 0)
    ids = facts.select(matched, filters)  # ascending rowid order, like `matched`
    partial = None
    if len(ids) < PARTIAL_BELOW and len(plan.terms) > 1:
        partial = rank_partial(conn, facts_from(0), filters, plan, set(matched))
    pool = ids[-RANK_POOL:]
    scores: dict[int, float] = {}
    if pool and (len(pool) == len(matched) or pool[0] == matched[-len(pool)]):
        # The pool is exactly the newest matches: FTS5 seeks to a rowid range natively.
        scores = tier_scores(conn, plan, "rowid >= ?", (pool[0],), _pool_bm25(bm25, pool))
    elif pool:
        # "+rowid" keeps SQLite from running the MATCH once per listed id.
        where = "+rowid IN (SELECT value FROM json_each(?))"
        scores = tier_scores(conn, plan, where, (json.dumps(pool),))
    # Best score first; ties newest first (two stable sorts instead of an inverted date key).
    ranked = facts.newest_first(pool)
    ranked.sort(key=lambda i: scores.get(i, 0.0))
    rest = ids[: len(ids) - len(pool)]
    counts = facts.count(ids + (partial or []))
    return Ranking(
        ranked=ranked,
        facets=facets_from_codes(counts),
        rest=rest,
        unsorted=bool(rest),
        counts=counts,
        scores=scores,
        partial=partial,
    )


def rank_partial(
    conn: sqlite3.Connection, facts: FactTable, filters: Filters, plan: Plan, full: set[int]
) -> list[int]:
    """Entries with some but not all of the words: most words first, then BM25, then newest."""
    found: Counter = Counter()
    for term in plan.terms:
        found.update(_rowids(conn, term.meant))
    ids = facts.select(sorted(i for i in found if i not in full), filters)
    pool = ids[-RANK_POOL:]
    scores = {}
    if pool:
        rows = conn.execute(
            f"SELECT rowid, {MAIN.bm25} FROM fts WHERE fts MATCH ?"
            " AND +rowid IN (SELECT value FROM json_each(?))",
            (plan.any, json.dumps(pool)),
        )
        scores = dict(rows.fetchall())
    newest = facts.newest_first(ids)
    rest = newest[len(pool) :] if len(ids) > len(pool) else []
    ranked = [i for i in newest if i in scores]
    ranked.sort(key=lambda i: (-found[i], scores[i]))
    return ranked + [i for i in rest if i not in scores]
