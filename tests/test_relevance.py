"""The relevance bench (bench/relevance.py) runs on a small subset, so that it cannot rot.

No figures are asserted: `python -m bench.relevance` measures them (BENCHMARKS.md, "Relevance").
This checks that the queries file is what the issue asks for, that every expected entry is in
the knowledge base the bench builds, and that pages are read, ranked and scored.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from markupsafe import escape

from bench import relevance

ISSUE_QUERIES = [
    "overpromises",
    "rollout plans vague",
    "reorganization",
    "incumbant",
    "referral never phoned back",
    "costly",
    "sponsor lost interest layoffs",
]


@pytest.fixture(scope="module")
def queries() -> list[relevance.Query]:
    """The bench's main queries."""
    return relevance.load_queries()


@pytest.fixture(scope="module")
def kb(tmp_path_factory):
    """The bench's knowledge base and a manager's client of it, built once for this module."""
    return relevance.build(tmp_path_factory.mktemp("relevance"))


def one_per_kind(queries: list[relevance.Query]) -> list[relevance.Query]:
    """The first query of each kind."""
    return [next(q for q in queries if q.kind == kind) for kind in relevance.KINDS]


def test_the_queries_file_holds_forty_queries_half_paraphrases_and_the_issues_own(queries):
    assert len(queries) >= 40
    assert sum(q.kind != "exact" for q in queries) >= len(queries) / 2
    assert {q.kind for q in queries} == set(relevance.KINDS)
    assert set(ISSUE_QUERIES) <= {q.text for q in queries}


def test_every_expected_entry_is_in_the_knowledge_base(kb, queries):
    relevance.check_expected(queries, kb)  # raises, naming the missing titles
    relevance.check_expected(relevance.load_queries(relevance.HELD_OUT), kb)
    lessons = list(relevance.LESSONS.glob("*.md"))
    assert len(lessons) >= 15
    with pytest.raises(ValueError, match="Not an entry"):
        relevance.check_expected([relevance.Query("x", ("Not an entry",), "exact")], kb)


def test_the_page_is_read_in_its_order(kb):
    # Browsing (no query) lists the newest first: the titles read must be entries' titles.
    html = kb.client.get("/kb").get_data(as_text=True)
    hits = relevance.result_hits(html)
    titles = [title for _, title in hits]
    assert len(titles) == 20
    for slug, title in hits:
        page = kb.client.get(f"/kb/{slug}").get_data(as_text=True)
        assert escape(title) in page
    assert relevance.rank_of(titles, (titles[4], "another")) == 5
    assert relevance.rank_of(titles, ("not listed",)) is None
    relevance.check_expected([relevance.Query("x", tuple(titles), "exact")], kb)


def test_a_subset_is_asked_scored_and_tabled(kb, queries):
    subset = one_per_kind(queries)
    outcomes = relevance.ask(kb, subset)
    assert [o.query for o in outcomes] == subset
    for outcome in outcomes:
        assert outcome.rank is None or outcome.titles[outcome.rank - 1] in outcome.query.expected
    n, top, mrr = relevance.score(outcomes)
    assert n == len(subset) and 0 <= top <= 1 and 0 <= mrr <= 1
    text = relevance.table({"keyword": outcomes})
    for kind in (*relevance.KINDS, "all"):
        assert kind in text
    assert relevance.table({"keyword": outcomes}, markdown=True).startswith("| kind |")


def test_the_scores_are_the_top_3_rate_and_the_mean_reciprocal_rank():
    query = relevance.Query("q", ("E",), "exact")
    ranks = [1, 2, 4, None]
    outcomes = [relevance.Outcome(query, (), rank, 0.0) for rank in ranks]
    assert relevance.score(outcomes) == (4, 2 / 4, (1 + 1 / 2 + 1 / 4) / 4)
    assert relevance.score([]) == (0, 0.0, 0.0)


def test_a_fallback_fills_only_a_page_with_few_results(kb, queries):
    subset = one_per_kind(queries)
    keyword = relevance.ask(kb, subset)
    everything = ["Trust before features", "Ask the ones who leave"]
    with_fallback = relevance.ask(kb, subset, lambda text: everything)
    for plain, filled in zip(keyword, with_fallback, strict=True):
        assert filled.titles[: len(plain.titles)] == plain.titles
        if len(plain.titles) >= relevance.FEW:
            assert filled.titles == plain.titles
        else:
            assert set(everything) <= set(filled.titles)


def test_a_bad_line_in_the_queries_file_is_named(tmp_path: Path):
    path = tmp_path / "q.tsv"
    path.write_text("# comment\nquery\texpected\tkind\nprice\tSome entry\tguess\n")
    with pytest.raises(ValueError, match=r"q.tsv:3: kind 'guess'"):
        relevance.load_queries(path)
    path.write_text("price only two\tSome entry\n")
    with pytest.raises(ValueError, match=r"q.tsv:1: want query"):
        relevance.load_queries(path)


def test_the_command_prints_the_figures(tmp_path: Path, queries):
    path = tmp_path / "q.tsv"
    lines = [f"{q.text}\t{' | '.join(q.expected)}\t{q.kind}" for q in one_per_kind(queries)]
    path.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(relevance.main, ["--queries", str(path), "--verbose"])
    assert result.exit_code == 0, result.output
    assert f"Relevance bench: {len(lines)} queries" in result.output
    assert "top-3 (keyword)" in result.output
    assert "Pages listing fewer than 3 entries" in result.output
    assert "== keyword" in result.output


def test_generated_entries_never_count_as_the_expected_one(kb):
    mixed = relevance.KnowledgeBase(kb.client, kb.entries_dir, frozenset({"2026-01-01-x"}))
    assert mixed.label("2026-01-01-x", "Trust before features") != "Trust before features"
    assert mixed.label("trust-before-features", "Trust before features") == "Trust before features"


def test_a_model_that_is_not_installed_or_unknown_is_named(kb):
    from bench import embedding

    with pytest.raises(embedding.ModelMissing, match="unknown model 'nope'"):
        embedding.load("nope", kb.entries_dir, kb.label)
