"""Running one search over the index: tiers of meaning, BM25 ranking, snippets and facets."""

# SQL text here is assembled only from module constants and "?" placeholders; every value from
# a user or a file is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import json
import sqlite3
from array import array
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from markupsafe import Markup, escape

from debrief.index.facts import FACETS, Fact, Filters, count_codes, facets_from_codes
from debrief.index.meaning import Plan

# A query matching more entries than this is ranked by BM25 among its newest RANK_POOL matches
# (by index order); the total and the facets still count every match. Scoring costs time per
# row, so this bounds the slowest searches without changing results for ordinary ones.
RANK_POOL = 1000
# When fewer entries than this have every word (after synonyms), entries with some of the words
# follow them, most words first, marked as partial matches (SPEC 2.5).
PARTIAL_BELOW = 5
# Exact words rank above their other forms and spellings, those above synonyms (SPEC 2.5): a
# score is tier * TIER + BM25, and BM25 (negative, better is lower) never spans a tier.
TIER = 1e6
EXACT, FORMS, SYNONYMS, PARTIAL = 0, 1, 2, 3
# Private-use characters as highlight marks: they survive HTML escaping and are stripped from
# indexed text, so the only <mark> tags in a snippet are ours.
MARK_OPEN, MARK_CLOSE = "\ue000", "\ue001"
BM25 = "bm25(fts, 10.0, 1.0, 4.0, 2.0, 2.0)"  # title, body, competitor, reasons, themes
SNIPPET = f"snippet(fts, 1, '{MARK_OPEN}', '{MARK_CLOSE}', ' … ', 24)"
ENTRY_COLUMNS = (
    "slug, title, date, kind, rep, competitor, themes, prospect_reasons, rep_reasons, trust, deal"
)


@dataclass
class Hit:
    """One search result: the entry's header facts and a safe HTML snippet."""

    slug: str
    title: str
    date: str
    kind: str
    rep: str | None
    competitor: str | None
    themes: list[str]
    prospect_reasons: list[str]
    rep_reasons: list[str]
    trust: int | None
    deal: int | None
    snippet: str
    partial: bool = False  # has some of the words only


@dataclass
class Results:
    """One page of hits, the total, and facet counts over the whole filtered result set."""

    hits: list[Hit]
    total: int
    facets: dict[str, list[tuple[str, int]]]
    page: int  # the page shown: a page past the end shows the last one
    per_page: int
    full: int = 0  # how many have every word (the others, after them, have some)
    searched: str | None = None  # the words searched, when corrected from the typed ones
    suggestion: str | None = None  # "did you mean": a correction not applied (some matched)
    unsearchable: bool = False  # text was typed, but no word in it (only symbols)


@dataclass
class Ranking:
    """The matching entry ids in result order, with the facets; cached between pages."""

    ranked: array  # array("q") of ids (a list is taken and converted)
    facets: dict[str, list[tuple[str, int]]]
    rest: array | None = None  # matches beyond the ranked pool, sorted on first use
    # Whether rest still needs sorting. Not a reference to the facts: a cached ranking holding
    # its own snapshot of every fact kept one such copy alive per index version (memory).
    unsorted: bool = False
    # What advance() needs to take in entries added later without starting over.
    counts: Counter | None = None  # every facet value's count (facets keeps the top ones)
    scores: dict[int, float] | None = None  # tier and BM25 of the ranked pool (searches only)
    # Entries with some of the words, in order, after the full matches; None: not looked for
    # (enough full matches, or one word).
    partial: array | None = None
    # A correction of the words no entry has ("did you mean"): None until looked for, then
    # the corrected text or "" (none).
    suggestion: str | None = None

    @property
    def full(self) -> int:
        """How many entries match every word (through its forms, spellings or synonyms)."""
        return len(self.ranked) + len(self.rest or ())

    @property
    def total(self) -> int:
        """How many entries match, partial matches included."""
        return self.full + len(self.partial or ())

    def __post_init__(self) -> None:
        # Ids kept as machine integers (8 bytes each), not as lists of int objects (about five
        # times that): the ranking of a broad search holds most of the entries' ids, and the
        # engine keeps dozens of rankings per process.
        self.ranked = _ids(self.ranked)
        self.rest = None if self.rest is None else _ids(self.rest)
        self.partial = None if self.partial is None else _ids(self.partial)

    def page(self, start: int, size: int, facts: Callable[[], dict[int, Fact]]) -> list[int]:
        """The ids of one page of results (facts() gives the current facts, to sort the rest)."""
        if start + size <= len(self.ranked):
            return list(self.ranked[start : start + size])
        if self.rest and self.unsorted:
            known = facts()
            self.rest = _ids(sorted(self.rest, key=lambda i: (known[i].date, i), reverse=True))
            self.unsorted = False  # sorted once
        ids: list[int] = []
        offset = 0
        for segment in (self.ranked, self.rest or [], self.partial or []):
            first = max(start - offset, 0)
            ids += segment[first : first + size - len(ids)]
            offset += len(segment)
        return ids


def _ids(values) -> array:
    """Entry ids as an array of 64-bit integers."""
    return values if isinstance(values, array) else array("q", values)


def strip_marks(text: str) -> str:
    """Indexed text without our sentinels, so stored text can never forge a <mark>."""
    return text.replace(MARK_OPEN, "").replace(MARK_CLOSE, "")


def html_snippet(raw: str) -> Markup:
    """FTS5 snippet text (unescaped) as HTML: escape everything, then turn sentinels into marks."""
    html = str(escape(raw)).replace(MARK_OPEN, "<mark>").replace(MARK_CLOSE, "</mark>")
    return Markup(html)  # noqa: S704 - escaped just above; only our own marks added


def lead(text: str, limit: int = 200) -> Markup:
    """The start of a body as an escaped snippet (browsing, no query to highlight)."""
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[:limit].rsplit(" ", 1)[0] + " …"
    return escape(text)


def empty_facets() -> dict[str, list[tuple[str, int]]]:
    """Facets of an empty result set."""
    return {facet: [] for facet in FACETS}


def rank_browse(conn: sqlite3.Connection, facts: dict[int, Fact], filters: Filters) -> Ranking:
    """No query text: the filtered entries newest first (filters run in SQL, on indexes)."""
    where, params = filters_sql(filters)
    ids = [
        row[0]
        for row in conn.execute(
            f"SELECT e.id FROM entry e WHERE {where} ORDER BY e.date DESC, e.id DESC", params
        )
    ]
    ids = [i for i in ids if i in facts]
    counts = count_codes([facts[i] for i in ids])
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


def _scores(conn: sqlite3.Connection, plan: Plan, where: str, params: tuple) -> dict[int, float]:
    """Tier and BM25 of the full matches among some rows (`where`: a condition on rowid).

    A row has the exact words (exact table), or their forms and spellings, or else needed a
    synonym: three cheap rowid passes over the same rows, then one BM25 pass.
    """
    exact = {
        row[0]
        for row in conn.execute(
            f"SELECT rowid FROM fts_exact WHERE fts_exact MATCH ? AND {where}",
            (plan.exact, *params),
        )
    }
    forms = None
    if plan.forms != plan.meant:  # else every full match has the words in some form
        forms = {
            row[0]
            for row in conn.execute(
                f"SELECT rowid FROM fts WHERE fts MATCH ? AND {where}", (plan.forms, *params)
            )
        }
    rows = conn.execute(
        f"SELECT rowid, {BM25} FROM fts WHERE fts MATCH ? AND {where}", (plan.meant, *params)
    )
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


def rank_search(
    conn: sqlite3.Connection, facts: dict[int, Fact], filters: Filters, plan: Plan
) -> Ranking:
    """The filtered matches: exact words, then forms, then synonyms, each tier by BM25 (title
    above body); then the rest newest first; then, when few have every word, partial matches."""
    matched = _rowids(conn, plan.meant)
    ids = filters.select(matched, facts)  # ascending rowid order, like `matched`
    partial = None
    if len(ids) < PARTIAL_BELOW and len(plan.terms) > 1:
        partial = rank_partial(conn, facts, filters, plan, set(matched))
    pool = ids[-RANK_POOL:]
    scores: dict[int, float] = {}
    if pool and (len(pool) == len(matched) or pool[0] == matched[-len(pool)]):
        # The pool is exactly the newest matches: FTS5 seeks to a rowid range natively.
        scores = _scores(conn, plan, "rowid >= ?", (pool[0],))
    elif pool:
        # "+rowid" keeps SQLite from running the MATCH once per listed id.
        where = "+rowid IN (SELECT value FROM json_each(?))"
        scores = _scores(conn, plan, where, (json.dumps(pool),))
    # Best score first; ties newest first (two stable sorts instead of an inverted date key).
    ranked = sorted(pool, key=lambda i: (facts[i].date, i), reverse=True)
    ranked.sort(key=lambda i: scores.get(i, 0.0))
    rest = ids[: len(ids) - len(pool)]
    counts = count_codes([facts[i] for i in ids + (partial or [])])
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
    conn: sqlite3.Connection, facts: dict[int, Fact], filters: Filters, plan: Plan, full: set[int]
) -> list[int]:
    """Entries with some but not all of the words: most words first, then BM25, then newest."""
    found: Counter = Counter()
    for term in plan.terms:
        found.update(_rowids(conn, term.meant))
    ids = filters.select(sorted(i for i in found if i not in full), facts)
    pool = ids[-RANK_POOL:]
    scores = {}
    if pool:
        rows = conn.execute(
            f"SELECT rowid, {BM25} FROM fts WHERE fts MATCH ?"
            " AND +rowid IN (SELECT value FROM json_each(?))",
            (plan.any, json.dumps(pool)),
        )
        scores = dict(rows.fetchall())
    newest = sorted(ids, key=lambda i: (facts[i].date, i), reverse=True)
    rest = newest[len(pool) :] if len(ids) > len(pool) else []
    ranked = [i for i in newest if i in scores]
    ranked.sort(key=lambda i: (-found[i], scores[i]))
    return ranked + [i for i in rest if i not in scores]


def advance(
    conn: sqlite3.Connection,
    old: Ranking,
    facts: dict[int, Fact],
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
    fresh = filters.select(added, facts)
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


def _advance_browse(old: Ranking, facts: dict[int, Fact], fresh: list[int]) -> Ranking:
    """advance() without words: the new entries put in their place by date."""
    counts = (old.counts or Counter()) + count_codes([facts[i] for i in fresh])
    ranked = array("q", old.ranked)  # a copy: the old ranking may be in use by another thread
    for i in fresh:
        place, key = 0, (facts[i].date, i)
        # New entries are usually the newest: their place is at or near the front.
        while place < len(ranked) and (facts[ranked[place]].date, ranked[place]) > key:
            place += 1
        ranked.insert(place, i)
    return Ranking(ranked=ranked, facets=facets_from_codes(counts), counts=counts)


def _advance_search(
    conn: sqlite3.Connection, old: Ranking, facts: dict[int, Fact], plan: Plan, fresh: list[int]
) -> Ranking:
    """advance() of a search: the new entries that match are scored into the pool."""
    # The added ids are above every earlier one: FTS5 seeks to that rowid range instead of
    # testing the whole match set against a list.
    wanted = set(fresh)
    new_scores = {
        i: score
        for i, score in _scores(conn, plan, "rowid >= ?", (min(fresh),)).items()
        if i in wanted
    }
    fresh = [i for i in fresh if i in new_scores]
    if not fresh:
        return old  # none has the words: the ranking stands
    counts = (old.counts or Counter()) + count_codes([facts[i] for i in fresh])
    scores = {**(old.scores or {}), **new_scores}
    pool = sorted([*old.ranked, *fresh])
    rest = array("q", old.rest or ())  # a copy, as above
    if len(pool) > RANK_POOL:  # the pool stays the newest RANK_POOL matches
        rest.extend(pool[: len(pool) - RANK_POOL])
        pool = pool[len(pool) - RANK_POOL :]
    ranked = sorted(pool, key=lambda i: (facts[i].date, i), reverse=True)
    ranked.sort(key=lambda i: scores.get(i, 0.0))
    return Ranking(
        ranked=ranked,
        facets=facets_from_codes(counts),
        rest=rest,
        unsorted=bool(rest),  # page() sorts the rest again, new ones included
        counts=counts,
        scores={i: scores[i] for i in pool if i in scores},
    )


def _rowids_from(conn: sqlite3.Connection, match: str, low: int) -> list[int]:
    """The rowids from `low` up matching an expression."""
    rows = conn.execute("SELECT rowid FROM fts WHERE fts MATCH ? AND rowid >= ?", (match, low))
    return [row[0] for row in rows]


def page_hits(conn: sqlite3.Connection, ids: list[int], match: str) -> list[Hit]:
    """The Hits for one page of ids, in that order, with snippets (highlighted when searching)."""
    if not ids:
        return []
    marks = ", ".join("?" * len(ids))
    rows = {
        row[0]: row[1:]
        for row in conn.execute(
            f"SELECT id, {ENTRY_COLUMNS} FROM entry WHERE id IN ({marks})",
            ids,
        )
    }
    if match:
        # One statement for the whole page: each MATCH re-expands prefix terms, so running it
        # per row costs more than one pass limited to the page's rowid range.
        found = conn.execute(
            f"SELECT rowid, {SNIPPET} FROM fts WHERE fts MATCH ? AND rowid BETWEEN ? AND ?"
            " AND +rowid IN (SELECT value FROM json_each(?))",
            (match, min(ids), max(ids), json.dumps(ids)),
        )
        snippets = {rowid: html_snippet(text) for rowid, text in found}
    else:
        found = conn.execute(
            f"SELECT rowid, substr(body, 1, 400) FROM fts WHERE rowid IN ({marks})", ids
        )
        snippets = {rowid: lead(text) for rowid, text in found}
    return [hit_from_row(rows[i], snippets.get(i, Markup(""))) for i in ids if i in rows]


def _split(value: str | None) -> list[str]:
    """A stored comma-joined list back to a list."""
    return value.split(",") if value else []


def hit_from_row(row: tuple, snippet: Markup) -> Hit:
    """A Hit from the ENTRY_COLUMNS of one row."""
    slug, title, date, kind, rep, competitor, themes, pros, reps, trust, deal = row
    return Hit(
        slug=slug,
        title=title,
        date=date,
        kind=kind,
        rep=rep,
        competitor=competitor,
        themes=_split(themes),
        prospect_reasons=_split(pros),
        rep_reasons=_split(reps),
        trust=trust,
        deal=deal,
        snippet=snippet,
    )
