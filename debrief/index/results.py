"""What a search gives: hits, a page of results, and the ranking kept between pages."""

# SQL text here is assembled only from module constants and "?" placeholders.
# ruff: noqa: S608

from __future__ import annotations

import json
import sqlite3
from array import array
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from markupsafe import Markup, escape

from debrief.index import recent
from debrief.index.facts import FACETS, FactTable

# Private-use characters as highlight marks: they survive HTML escaping and are stripped from
# indexed text, so the only <mark> tags in a snippet are ours.
MARK_OPEN, MARK_CLOSE = "\ue000", "\ue001"
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
    estimated: bool = False  # facet counts estimated from the newest matches (a broad search)
    about: bool = False  # the total is estimated too (a broad search of the newest entries)


class Scores:
    """The tier and BM25 score of each id of a ranked pool, as two machine arrays: a dict of
    boxed ids and floats takes several times that, and the engine keeps dozens of rankings per
    process. advance() takes them back as a dict (as_dict) when entries arrive."""

    __slots__ = ("ids", "values")

    def __init__(self, scores: dict[int, float]) -> None:
        self.ids = array("q", scores)
        self.values = array("d", scores.values())

    def __len__(self) -> int:
        return len(self.ids)

    def as_dict(self) -> dict[int, float]:
        """The scores by id."""
        return dict(zip(self.ids, self.values, strict=True))


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
    # Tier and BM25 of the ranked pool (searches only): given as a dict, kept as Scores.
    scores: Scores | dict[int, float] | None = None
    # Entries with some of the words, in order, after the full matches; None: not looked for
    # (enough full matches, or one word).
    partial: array | None = None
    # A correction of the words no entry has ("did you mean"): None until looked for, then
    # the corrected text or "" (none).
    suggestion: str | None = None
    # A broad search's count of full matches, when its facets are estimates from its newest
    # matches and the rest (beyond the ranked pool) is not read yet; None: all counted.
    matched: int | None = None
    # Whether `matched` is an estimate (from the newest matches' share of the entries they
    # span) rather than a count; exact again once the rest is read.
    about: bool = False
    # Scored in the recent tables (recent.py): advance() scores new entries there too.
    recent: bool = False

    @property
    def full(self) -> int:
        """How many entries match every word (through its forms, spellings or synonyms)."""
        if self.matched is not None:
            return self.matched
        return len(self.ranked) + len(self.rest or ())

    @property
    def estimated(self) -> bool:
        """Whether the facet counts are estimates (a broad search's newest matches)."""
        return self.matched is not None

    @property
    def total(self) -> int:
        """How many entries match, partial matches included."""
        return self.full + len(self.partial or ())

    @property
    def held(self) -> int:
        """How many ids it holds (the ranked pool, its scores, the rest read, the partial
        matches): a broad search's total counts matches it does not hold."""
        return (len(self.ranked) + len(self.scores or ()) + len(self.rest or ())
                + len(self.partial or ()))  # fmt: skip

    def __post_init__(self) -> None:
        # Ids kept as machine integers (8 bytes each), not as lists of int objects (about five
        # times that): the ranking of a broad search holds most of the entries' ids, and the
        # engine keeps dozens of rankings per process.
        self.ranked = _ids(self.ranked)
        if isinstance(self.scores, dict):
            self.scores = Scores(self.scores)
        self.rest = None if self.rest is None else _ids(self.rest)
        self.partial = None if self.partial is None else _ids(self.partial)

    def page(self, start: int, size: int, facts: Callable[[], FactTable]) -> list[int]:
        """The ids of one page of results (facts() gives the current facts, to sort the rest)."""
        if start + size <= len(self.ranked):
            return list(self.ranked[start : start + size])
        if self.rest and self.unsorted:
            self.rest = _ids(facts().newest_first(self.rest))
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


def snippet_sql(table: str) -> str:
    """About 24 words of an FTS table's body around the matches, marked (html_snippet)."""
    return f"snippet({table}, 1, '{MARK_OPEN}', '{MARK_CLOSE}', ' … ', 24)"


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
        # per row costs more than one pass limited to the page's rowid range (and in the
        # recent table, when the page's rows are all there, the expansion is of fewer rows).
        tables = recent.tables_for(conn, ids)
        fts = tables.forms
        found = conn.execute(
            f"SELECT rowid, {snippet_sql(fts)} FROM {fts} WHERE {fts} MATCH ?"
            " AND rowid BETWEEN ? AND ? AND +rowid IN (SELECT value FROM json_each(?))",
            (match, min(ids), max(ids), json.dumps(ids)),
        )
        snippets = {rowid: html_snippet(text) for rowid, text in found}
    else:
        found = conn.execute(
            f"SELECT rowid, substr(body, 1, 400) FROM fts WHERE rowid IN ({marks})", ids
        )
        snippets = {rowid: lead(text) for rowid, text in found}
    return [hit_from_row(rows[i], snippets.get(i, Markup(""))) for i in ids if i in rows]
