"""Search at the largest size: SearchIndex.query and GET /kb, against `grep -ril` of the words.

Every query is two words (bench.text.QUERIES) with snippets and facets, as the /kb page asks.
The reference is the shell a user would use instead: `grep -rilZ w1 entries | xargs -0 grep -il
w2` (both words, like our search; no ranking, snippets or facets).

A query's first time (SPEC 4: each of 50 queries once, bench.text.SEARCHES) is measured through
the app, GET /kb, with the engine's rankings and pages forgotten before each request; the engine's
own share (SearchIndex.query alone) is in its notes.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import time
from pathlib import Path

from bench.client import make_app, signed_in
from bench.dataset import rep_email
from bench.figures import Figure, median_p95, ms, timed
from bench.run import Run, label
from bench.text import QUERIES, SEARCHES
from debrief.index import SHIPPED_SYNONYMS, KnowledgeBase, Thesaurus, get_kb
from debrief.index.results import snippet_sql

MEDIAN_MS, P95_MS = 10.0, 30.0
# A query's first time: median <= 5 ms up to 50k entries, <= 10 ms at 250k; p95 <= 30 ms.
FIRST_MEDIAN_MS = {50_000: 5.0, 250_000: 10.0}


def first_target(size: int) -> float:
    """The first-time median target at a size (the smallest one for the sizes below 50k)."""
    return next((ms for top, ms in sorted(FIRST_MEDIAN_MS.items()) if size <= top), 10.0)


def grep_seconds(entries_dir: Path, query: str) -> tuple[float, int]:
    """Seconds for the grep pipeline of a two-word query, and how many files it found."""
    first, second = query.split()
    start = time.perf_counter()
    finder = subprocess.Popen(
        ["grep", "-rilZ", "--", first, str(entries_dir)], stdout=subprocess.PIPE
    )
    both = subprocess.run(
        ["xargs", "-0", "-r", "grep", "-il", "--", second],
        stdin=finder.stdout,
        capture_output=True,
        check=False,
    )
    finder.stdout.close()
    finder.wait()
    return time.perf_counter() - start, len(both.stdout.splitlines())


def raw_ranked_ms(db_path: Path) -> list[float]:
    """Milliseconds of SQLite's own ranked search for each of SEARCHES: the two words as typed,
    FTS5's bm25 over every match (ORDER BY rank), the best 20 with snippets; no facets or total.

    The reference for a query's first time: FTS5's bm25() reads the whole list of rows of every
    word to weigh it, so this is what ranking by SQLite alone costs at this size."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    ranked = f"SELECT rowid, {snippet_sql('fts')} FROM fts WHERE fts MATCH ? ORDER BY rank LIMIT 20"  # noqa: S608 - a constant
    samples = []
    for q in SEARCHES:
        words = " ".join(f'"{w}"' for w in q.split())
        start = time.perf_counter()
        conn.execute(ranked, (words,)).fetchall()
        samples.append((time.perf_counter() - start) * 1000)
    conn.close()
    return samples


def first_page_ms(app, client) -> list[float]:
    """Milliseconds of GET /kb?q= for each of SEARCHES, as if asked for the first time."""
    client.get("/kb", query_string={"q": SEARCHES[0]})  # opens the index and warms the page
    with app.app_context():
        index = get_kb().index
    samples = []
    for q in SEARCHES:
        index.forget_rankings()
        start = time.perf_counter()
        response = client.get("/kb", query_string={"q": q})
        samples.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"/kb gave HTTP {response.status_code}")
    return samples


def _figure(what: str, samples: list[float], median_ms: float, grep_ms: float) -> Figure:
    """A search row: its median target (p95 <= P95_MS for every row), grep as the reference."""
    median, p95 = median_p95(samples)
    return Figure(
        what=what,
        target=f"median <= {median_ms:g} ms, p95 <= {P95_MS:g} ms",
        unit="ms",
        median=median,
        p95=p95,
        reference="grep -ril of both words",
        ref_median=grep_ms,
        met=median <= median_ms and p95 <= P95_MS,
        samples=len(samples),
    )


def measure(run: Run) -> list[Figure]:
    """Index-level and page-level search latency, with the grep reference."""
    space = run.workspace(run.big)
    # With the synonyms the app searches with (DEBRIEF_SYNONYMS, else the shipped list).
    synonyms = os.environ.get("DEBRIEF_SYNONYMS") or SHIPPED_SYNONYMS
    kb = KnowledgeBase(
        space.data_dir / "index.sqlite", space.entries_dir, thesaurus=Thesaurus(synonyms)
    )
    index = kb.index  # the engine's own query cost, as the before figures measured it
    rounds = run.n(10)
    totals = [index.query(q).total for q in QUERIES]
    queries = iter(QUERIES * (rounds + 1))
    direct = ms(timed(lambda: index.query(next(queries)), rounds * len(QUERIES)))

    first_times = []  # each query as if asked for the first time in this process
    for q in SEARCHES:
        index.forget_rankings()
        start = time.perf_counter()
        index.query(q)
        first_times.append((time.perf_counter() - start) * 1000)

    app = make_app(space)
    client = signed_in(app, rep_email(0))
    first_pages = first_page_ms(app, client)
    pages = iter(QUERIES * (rounds + 1))

    def page() -> None:
        response = client.get("/kb", query_string={"q": next(pages)})
        if response.status_code != 200:
            raise RuntimeError(f"/kb gave HTTP {response.status_code}")

    through_app = ms(timed(page, rounds * len(QUERIES)))
    greps = [grep_seconds(space.entries_dir, q) for q in QUERIES[: run.n(6)]]
    grep_ms, _ = median_p95(ms([g[0] for g in greps]))

    figures = [
        _figure(f"search, 2 words, {label(run.big)} entries: {what}", samples, MEDIAN_MS, grep_ms)
        for what, samples in (("SearchIndex.query", direct), ("GET /kb?q=", through_app))
    ]
    if min(totals) == 0 and min(g[1] for g in greps) > 0:
        # Fast answers that find nothing are a broken index, not a met target.
        for figure in figures:
            figure.met = False
            figure.notes.append("a query found nothing where grep found files")
    figures[0].notes.append(
        f"{len(QUERIES)} queries, {min(totals)}-{max(totals)} hits each"
        f" (grep found {min(g[1] for g in greps)}-{max(g[1] for g in greps)} files)"
    )
    figures[0].notes.append("rankings and pages are cached per query (a query's first time: below)")
    figures[1].notes.append(
        "the first round of the 20 queries ranks each anew (the slow tail of these samples)"
    )
    first = _figure(
        f"search, a query's first time, {label(run.big)} entries: GET /kb?q=",
        first_pages,
        first_target(run.big),
        grep_ms,
    )
    raw, raw_p95 = median_p95(raw_ranked_ms(space.data_dir / "index.sqlite"))
    first.notes.append(
        f"raw SQLite reference, FTS5 ranking every match of the two words (ORDER BY rank LIMIT 20,"
        f" snippets, no facets): median {raw:.1f} ms, p95 {raw_p95:.1f} ms"
    )
    engine, engine_p95 = median_p95(first_times)
    first.notes.append(
        f"{len(SEARCHES)} queries, each once, rankings and pages forgotten before each;"
        f" SearchIndex.query alone: median {engine:.1f} ms, p95 {engine_p95:.1f} ms"
    )
    figures.append(first)
    kb.close()
    return figures
