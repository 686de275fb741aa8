"""Searching the index: a query's plan, its ranking (cached, advanced or new), its page of hits,
and "did you mean" (a part of SearchIndex, as staleness.py is)."""

# SQL text here is assembled only from module constants and "?" placeholders.
# ruff: noqa: S608

from __future__ import annotations

import re
import sqlite3
import time
from array import array
from dataclasses import replace

from debrief.entries import slugify
from debrief.index import meaning
from debrief.index.advance import advance
from debrief.index.caches import Pages, Ranked, Rankings
from debrief.index.database import Database, state
from debrief.index.facts import FactCache, FactTable, Filters
from debrief.index.meaning import Plan, Thesaurus
from debrief.index.results import Hit, Ranking, Results, empty_facets, page_hits
from debrief.index.search import rank_browse, rank_search, rest_of

VOCABULARY_AGE = 300.0  # seconds a loaded vocabulary serves "did you mean" (see vocabulary())


class Querying:
    """The searching of a SearchIndex (its db, thesaurus and caches are the host's)."""

    db: Database
    thesaurus: Thesaurus | None
    _facts: FactCache
    _rankings: Rankings
    _pages: Pages
    _vocabulary: tuple[str, float, dict[str, int]] | None
    _size_at: tuple[tuple[str, int], tuple[int, int]] | None

    def query(
        self,
        q: str = "",
        *,
        kind: str | None = None,
        theme: str | None = None,
        reason: str | None = None,
        competitor: str | None = None,
        rep: str | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        page: int = 1,
        per_page: int = 20,
        typed: bool = False,
    ) -> Results:
        """Search by what the words mean (newest first without a query), snippets, facets, filters.

        typed: search the words as typed, with no "did you mean" correction.
        """
        page = min(max(as_int(page, 1), 1), 1_000_000)
        per_page = min(max(as_int(per_page, 20), 1), 100)
        filters = Filters(
            kind=_text(kind),
            theme=slugify(_text(theme) or "") or None,
            reason=slugify(_text(reason) or "") or None,
            competitor=slugify(_text(competitor) or "") or None,
            rep=_text(rep),
            date_from=_valid_date(date_from),
            date_to=_valid_date(date_to),
        )
        plan = meaning.plan(q or "", self.thesaurus)
        if plan is None and (q or "").strip():
            # Only symbols: nothing to search for, and no list to call "best match".
            return Results([], 0, empty_facets(), 1, per_page, unsearchable=True)
        with self.db.read() as conn:
            now = state(conn)
            plan, ranking, searched, suggestion = self._searched(conn, now, plan, filters, typed)
            page, start = _clamped(page, ranking.total, per_page)
            hits = self._page(conn, now[0], plan, ranking, start, per_page)
            if not hits and start >= ranking.total > 0:
                # An estimated total, counted while reading this page, ends before it.
                page, start = _clamped(page, ranking.total, per_page)
                hits = self._page(conn, now[0], plan, ranking, start, per_page)
        if ranking.full < start + len(hits):
            first = max(ranking.full - start, 0)
            hits = hits[:first] + [replace(h, partial=True) for h in hits[first:]]
        return Results(
            hits=hits,
            total=ranking.total,
            facets=ranking.facets,
            page=page,
            per_page=per_page,
            full=ranking.full,
            searched=searched,
            suggestion=suggestion,
            estimated=ranking.estimated,
            about=ranking.about,
        )

    def _searched(
        self,
        conn: sqlite3.Connection,
        now: tuple[str, int],
        plan: Plan | None,
        filters: Filters,
        typed: bool,
    ) -> tuple[Plan | None, Ranking, str | None, str | None]:
        """(plan, ranking, searched, suggestion): a correction of words no entry has is applied
        when nothing matched as typed (searched), else offered (suggestion); none when typed."""
        ranking = self._ranking(conn, now, plan, filters)
        if plan is None or ranking.full or typed:
            return plan, ranking, None, None
        corrected = self._suggestion(conn, plan, ranking)
        if corrected and not ranking.total:
            # Nothing found as typed: the correction is applied by itself, and said so.
            plan = meaning.plan(corrected, self.thesaurus)
            return plan, self._ranking(conn, now, plan, filters), corrected, None
        return plan, ranking, None, corrected or None

    def _ranking(
        self, conn: sqlite3.Connection, now: tuple[str, int], plan: Plan | None, filters: Filters
    ) -> Ranking:
        """The search's ranking at this state: cached, advanced from a cached one, or new."""
        key = (plan, filters)
        cached = self._rankings.get(key)
        if cached is not None and cached.state == now:
            return cached.ranking

        def facts_from(low: int = 0) -> FactTable:
            return self._facts.refresh(conn, now[0], low)

        top, count = self._size(conn, now)
        ranking = None
        if cached is not None and cached.state[0] == now[0]:
            # Ids only grow: when nothing was deleted, the rows above the cached ranking's
            # largest id are all that changed (an answer adds one).
            added = [row[0] for row in conn.execute(
                "SELECT id FROM entry WHERE id > ? ORDER BY id", (cached.top,))]  # fmt: skip
            if cached.count + len(added) == count:
                ranking = advance(conn, cached.ranking, facts_from, filters, plan, added)
        if ranking is None:
            ranking = (
                rank_search(conn, facts_from, filters, plan, count) if plan is not None
                else rank_browse(conn, facts_from, filters)
            )  # fmt: skip
        self._rankings.put(key, Ranked(now, ranking, top, count))
        return ranking

    def _size(self, conn: sqlite3.Connection, now: tuple[str, int]) -> tuple[int, int]:
        """(largest entry id, entry count) at this state: counted once per state, since every
        write bumps it (counting the entry table takes as long as a small search)."""
        kept = self._size_at
        if kept is not None and kept[0] == now:
            return kept[1]
        top = conn.execute("SELECT max(id) FROM entry").fetchone()[0] or 0
        count = conn.execute("SELECT count(*) FROM entry").fetchone()[0]
        self._size_at = (now, (top, count))
        return top, count

    def _page(
        self,
        conn: sqlite3.Connection,
        generation: str,
        plan: Plan | None,
        ranking: Ranking,
        start: int,
        size: int,
    ) -> list[Hit]:
        """The hits of one page of a ranking, from the cache of pages or with new snippets."""
        match = plan.any if plan else ""
        with self._rankings.lock:
            if (
                plan is not None
                and ranking.matched is not None  # a broad search: its rest is read when needed
                and ranking.rest is None
                and start + size > len(ranking.ranked)
            ):
                facts = self._facts.refresh(conn, generation)
                ranking.rest = array("q", rest_of(conn, facts, plan, ranking))
                ranking.unsorted = True
                if ranking.about:  # every match is known now: the total is counted
                    ranking.matched = len(ranking.ranked) + len(ranking.rest)
                    ranking.about = False
            ids = ranking.page(start, size, lambda: self._facts.refresh(conn, generation))
        key = (generation, match, tuple(ids))
        hits = self._pages.get(key)
        if hits is None:
            # The snippets' FTS pass is a large part of a results page's work.
            hits = page_hits(conn, ids, match)
            self._pages.put(key, hits)
        return hits

    def _suggestion(self, conn: sqlite3.Connection, plan: Plan, ranking: Ranking) -> str:
        """The query with each word no entry has replaced by the indexed word most like it.

        "" when there is none. Kept on the ranking: looked for once per ranking.
        """
        if ranking.suggestion is None:
            words, changed = [], False
            for term in plan.terms:
                word = term.text
                found = conn.execute(
                    "SELECT rowid FROM fts WHERE fts MATCH ? LIMIT 1", (term.meant,)
                ).fetchone()
                if found is None:
                    better = meaning.closest(word, self.vocabulary())
                    if better:
                        word, changed = better, True
                words.append(word)
            ranking.suggestion = " ".join(words) if changed else ""
        return ranking.suggestion

    def vocabulary(self) -> dict[str, int]:
        """Every indexed word as written (accents folded) -> how many entries use it.

        For "did you mean" only, so a copy may lag the entries. Invalidation: read again after
        a rebuild (a new generation), or once VOCABULARY_AGE seconds old (reading a large
        index's vocabulary is slow). A word newer than the copy is found by search all the
        same, never corrected.
        """
        now = time.monotonic()
        conn = self.db.conn()  # in the caller's read transaction, if any
        generation, _ = state(conn)
        kept = self._vocabulary
        if kept and kept[0] == generation and now - kept[1] < VOCABULARY_AGE:
            return kept[2]
        words = dict(conn.execute("SELECT term, doc FROM fts_exact_vocab"))
        self._vocabulary = (generation, now, words)
        return words

    def forget_rankings(self) -> None:
        """Drop the cached rankings and pages of hits (the next searches compute them anew)."""
        self._rankings.clear()
        self._pages.clear()


def _clamped(page: int, total: int, per_page: int) -> tuple[int, int]:
    """(page, index of its first result): a page past the end is the last one."""
    page = min(page, max(1, -(-total // per_page)))
    return page, (page - 1) * per_page


def _valid_date(value: object) -> str | None:
    """A YYYY-MM-DD filter value, or None when missing or malformed (then it is ignored)."""
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return value
    return None


def _text(value: object) -> str | None:
    """A filter value as text, None when empty."""
    return str(value) if value not in (None, "") else None


def as_int(value: object, default: int) -> int:
    """A whole number from user input, or the default."""
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return default
