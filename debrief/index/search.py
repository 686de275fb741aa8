"""Running one search over the index: safe FTS5 queries, BM25 ranking, snippets and facets."""

# SQL text here is assembled only from module constants and "?" placeholders; every value from
# a user or a file is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from markupsafe import Markup, escape

from debrief.index.facts import FACETS, Fact, Filters, count_codes, facets_from_codes

MAX_QUERY_CHARS = 1000
MAX_TERMS = 16
# A query matching more entries than this is ranked by BM25 among its newest RANK_POOL matches
# (by index order); the total and the facets still count every match. Scoring costs time per
# row, so this bounds the slowest searches without changing results for ordinary ones.
RANK_POOL = 1000
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


@dataclass
class Results:
    """One page of hits, the total, and facet counts over the whole filtered result set."""

    hits: list[Hit]
    total: int
    facets: dict[str, list[tuple[str, int]]]
    page: int
    per_page: int


@dataclass
class Ranking:
    """The matching entry ids in result order, with the facets; cached between pages."""

    ranked: list[int]
    facets: dict[str, list[tuple[str, int]]]
    rest: list[int] | None = None  # matches beyond the ranked pool, sorted on first use
    # Whether rest still needs sorting. Not a reference to the facts: a cached ranking holding
    # its own snapshot of every fact kept one such copy alive per index version (memory).
    unsorted: bool = False
    # What advance() needs to take in entries added later without starting over.
    counts: Counter | None = None  # every facet value's count (facets keeps the top ones)
    scores: dict[int, float] | None = None  # BM25 of the ranked pool (searches only)

    @property
    def total(self) -> int:
        """How many entries match."""
        return len(self.ranked) + len(self.rest or ())

    def page(self, start: int, size: int, facts: Callable[[], dict[int, Fact]]) -> list[int]:
        """The ids of one page of results (facts() gives the current facts, to sort the rest)."""
        if start + size <= len(self.ranked):
            return self.ranked[start : start + size]
        if self.rest and self.unsorted:
            known = facts()
            self.rest.sort(key=lambda i: (known[i].date, i), reverse=True)
            self.unsorted = False  # sorted once
        ranked = self.ranked[start : start + size]
        first = max(start - len(self.ranked), 0)
        return ranked + (self.rest or [])[first : first + size - len(ranked)]


def match_expression(q: str) -> str:
    """User text as a safe FTS5 query: every word quoted, the last one a prefix ('' if none)."""
    q = clean_query(q)[:MAX_QUERY_CHARS]
    # A word with no letter or digit has no token: as a phrase it would match nothing at all.
    words = [w for w in q.split() if any(c.isalnum() for c in w)][:MAX_TERMS]
    if not words:
        return ""
    phrases = ['"' + w.replace('"', '""') + '"' for w in words]
    phrases[-1] += "*"
    return " ".join(phrases)


def clean_query(text: str) -> str:
    """Query text that SQLite can bind: no NUL, no lone surrogates, no highlight sentinels."""
    text = "".join(c for c in str(text) if not 0xD800 <= ord(c) <= 0xDFFF)
    return text.replace("\x00", " ").replace(MARK_OPEN, " ").replace(MARK_CLOSE, " ")


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


def rank_search(
    conn: sqlite3.Connection, facts: dict[int, Fact], filters: Filters, match: str
) -> Ranking:
    """Query text: the filtered matches by BM25 (title above body), then the rest newest first."""
    try:
        matched = [
            row[0] for row in conn.execute("SELECT rowid FROM fts WHERE fts MATCH ?", (match,))
        ]
    except sqlite3.OperationalError:
        # Quoting makes this unreachable in practice; a bad query is still never a 500.
        return Ranking(ranked=[], facets=empty_facets())
    ids = filters.select(matched, facts)  # ascending rowid order, like `matched`
    pool = ids[-RANK_POOL:]
    if not pool:
        return Ranking(ranked=[], facets=empty_facets())
    if len(pool) == len(matched) or pool[0] == matched[-len(pool)]:
        # The pool is exactly the newest matches: FTS5 seeks to a rowid range natively.
        rows = conn.execute(
            f"SELECT rowid, {BM25} FROM fts WHERE fts MATCH ? AND rowid >= ?", (match, pool[0])
        )
    else:
        # "+rowid" keeps SQLite from running the MATCH once per listed id.
        rows = conn.execute(
            f"SELECT rowid, {BM25} FROM fts WHERE fts MATCH ?"
            " AND +rowid IN (SELECT value FROM json_each(?))",
            (match, json.dumps(pool)),
        )
    scores = dict(rows.fetchall())
    # Best score first; ties newest first (two stable sorts instead of an inverted date key).
    ranked = sorted(pool, key=lambda i: (facts[i].date, i), reverse=True)
    ranked.sort(key=lambda i: scores.get(i, 0.0))
    rest = ids[: len(ids) - len(pool)]
    counts = count_codes([facts[i] for i in ids])
    return Ranking(
        ranked=ranked,
        facets=facets_from_codes(counts),
        rest=rest,
        unsorted=bool(rest),
        counts=counts,
        scores=scores,
    )


def advance(
    conn: sqlite3.Connection,
    old: Ranking,
    facts: dict[int, Fact],
    filters: Filters,
    match: str,
    added: list[int],
) -> Ranking | None:
    """The ranking after entries `added` (ids above all earlier ones) joined; None: start over.

    Every answer adds an entry, and a ranking computed from scratch costs a pass over every
    match: this takes in just the new entries. BM25 scores of the
    earlier matches stay as computed (the corpus statistics moved by a few entries).
    """
    if old.counts is None or (match and old.scores is None):
        return None
    fresh = filters.select(added, facts)
    if match and fresh:
        # The added ids are above every earlier one: FTS5 seeks to that rowid range instead of
        # testing the whole match set against a list.
        rows = conn.execute(
            f"SELECT rowid, {BM25} FROM fts WHERE fts MATCH ? AND rowid >= ?", (match, min(fresh))
        )
        wanted = set(fresh)
        new_scores = {i: score for i, score in rows if i in wanted}
        fresh = [i for i in fresh if i in new_scores]
    if not fresh:
        # Most answers match neither the words nor the filters of a given search: its ranking
        # stands as it was (no re-sorting of its pool on every search after every answer).
        return old
    counts = old.counts + count_codes([facts[i] for i in fresh])
    if not match:
        ranked = list(old.ranked)
        for i in fresh:
            place, key = 0, (facts[i].date, i)
            # New entries are usually the newest: their place is at or near the front.
            while place < len(ranked) and (facts[ranked[place]].date, ranked[place]) > key:
                place += 1
            ranked.insert(place, i)
        return Ranking(ranked=ranked, facets=facets_from_codes(counts), counts=counts)
    scores = {**(old.scores or {}), **(new_scores if fresh else {})}
    pool = sorted(old.ranked + fresh)
    rest = list(old.rest or [])
    if len(pool) > RANK_POOL:  # the pool stays the newest RANK_POOL matches
        rest += pool[: len(pool) - RANK_POOL]
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
