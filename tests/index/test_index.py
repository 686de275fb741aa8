"""The knowledge base through its facade: ranking, snippets, facets, filters, sync, concurrency."""

import datetime
import multiprocessing
import os
import random
import shutil
import sqlite3
import threading
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from debrief.entries import Entry, buyer_block, write_entry
from debrief.index import KnowledgeBase, meaning, search, sync
from debrief.index.facts import Filters
from debrief.index.meaning import plan as make_plan


def entry(title: str, day: int = 1, body: str = "", **fields) -> Entry:
    """A lesson on 2026-01-<day> with the given fields."""
    return Entry(kind=fields.pop("kind", "lesson"), title=title,
                 date=datetime.date(2026, 1, day), body=body, **fields)  # fmt: skip


@pytest.fixture
def entries_dir(tmp_path) -> Path:
    path = tmp_path / "entries"
    path.mkdir()
    return path


@pytest.fixture
def kb(tmp_path, entries_dir) -> KnowledgeBase:
    base = KnowledgeBase(tmp_path / "data" / "index.sqlite3", entries_dir)
    yield base
    base.index.close()


def put(kb: KnowledgeBase, *items: Entry) -> list[Entry]:
    """Publish entries: write their files and index them, as the app does."""
    return [kb.publish(item) for item in items]


# --- ranking, snippets, prefix, browsing ----------------------------------------------------


def test_title_hit_ranks_above_body_hit(kb, entries_dir):
    put(
        kb,
        entry("Notes from a call", day=5, body="They mentioned onboarding once. " * 3),
        entry("Onboarding took too long", day=1, body="A long story about something else."),
    )
    hits = kb.search("onboarding").hits
    assert [h.title for h in hits] == ["Onboarding took too long", "Notes from a call"]


def test_snippet_is_escaped_and_marks_are_ours(kb, entries_dir):
    body = "The <b>price</b> & <mark>fake</mark> \ue000forged\ue001 <script>x</script> price"
    put(kb, entry("Pricing", body=body))
    (hit,) = kb.search("price").hits
    assert "&lt;b&gt;" in hit.snippet and "<b>" not in hit.snippet
    assert "&lt;mark&gt;fake" in hit.snippet and "&lt;script&gt;" in hit.snippet
    assert hit.snippet.count("<mark>") == hit.snippet.count("</mark>") == 2
    assert "<mark>price</mark>" in hit.snippet and "forged" in hit.snippet


def test_buyer_blocks_are_indexed_as_plain_text(kb, entries_dir):
    body = "Rep notes.\n\n" + buyer_block("The ~~~ renewal ``` terms scared legal.")
    put(kb, entry("Debrief", body=body, kind="debrief"))
    (hit,) = kb.search("renewal terms").hits
    assert "buyer" not in hit.snippet and "~~~~" not in hit.snippet
    assert "<mark>renewal</mark>" in hit.snippet


def test_prefix_matches_the_last_word_only(kb, entries_dir):
    put(kb, entry("Implementation plans", body="security review"))
    assert kb.search("implement").total == 1
    partly = kb.search("secu review")  # only the last word is a prefix: "secu" is no word
    assert partly.full == 0 and [h.partial for h in partly.hits] == [True]
    assert kb.search("security rev").full == 1


def test_empty_query_lists_newest_first(kb, entries_dir):
    put(kb, *(entry(f"Lesson {d}", day=d) for d in (3, 9, 1, 7)))
    results = kb.search("")
    assert [h.date for h in results.hits] == ["2026-01-09", "2026-01-07", "2026-01-03",
                                               "2026-01-01"]  # fmt: skip
    assert results.total == 4 and results.hits[0].snippet == ""


def test_paging(kb, entries_dir):
    put(kb, *(entry(f"Budget story {d}", day=d) for d in range(1, 8)))
    first = kb.search("budget", per_page=3)
    third = kb.search("budget", per_page=3, page=3)
    assert (first.total, len(first.hits), len(third.hits)) == (7, 3, 1)
    seen = [h.slug for p in (1, 2, 3) for h in kb.search("budget", per_page=3, page=p).hits]
    assert len(set(seen)) == 7
    assert kb.search("budget", per_page=3, page=99).page == 3  # a page past the end: the last
    assert kb.search("budget", page="x", per_page=10**9).per_page == 100


def test_broad_query_ranks_a_pool_and_still_counts_everything(kb, entries_dir, monkeypatch):
    monkeypatch.setattr(search, "RANK_POOL", 3)
    put(kb, *(entry(f"Note {d}", day=d, body="pricing talk") for d in range(1, 9)))
    put(kb, entry("Pricing above all", day=2, body="pricing"))
    results = kb.search("pricing", per_page=20)
    assert results.total == 9 and len(results.hits) == 9
    assert results.facets["kind"] == [("lesson", 9)]
    assert results.hits[0].title == "Pricing above all"  # newest matches are ranked by BM25
    rest = [h.date for h in results.hits[3:]]
    assert rest == sorted(rest, reverse=True)
    pages = [h.slug for p in range(1, 6) for h in kb.search("pricing", per_page=2, page=p).hits]
    assert pages == [h.slug for h in results.hits]  # pages that straddle the pool and the rest


def test_a_broad_search_estimates_its_facets_and_pages_like_a_counted_one(
    kb, entries_dir, monkeypatch
):
    # More matches than SAMPLE: the total is counted in SQLite, the facets are estimated from
    # the newest SAMPLE matches, and the pages past the ranked pool read the rest when needed.
    monkeypatch.setattr(search, "RANK_POOL", 4)
    put(kb, *(entry(f"Note {n}", day=1 + n % 28, body="pricing talk",
                    kind="debrief" if n % 4 else "lesson") for n in range(30)))  # fmt: skip
    put(kb, entry("Pricing above all", day=3, body="pricing"), entry("Unrelated", day=4))

    def every_page(q: str) -> list[str]:
        return [h.slug for p in range(1, 8) for h in kb.search(q, per_page=5, page=p).hits]

    monkeypatch.setattr(search, "SAMPLE", 10_000)
    counted = kb.search("pricing", per_page=5)
    counted_pages = every_page("pricing")
    kb.index.forget_rankings()
    monkeypatch.setattr(search, "SAMPLE", 8)
    broad = kb.search("pricing", per_page=5)
    assert (broad.total, broad.full) == (counted.total, counted.full) == (31, 31)
    assert not counted.estimated and broad.estimated
    assert counted.facets["kind"] == [("debrief", 22), ("lesson", 9)]
    assert sum(n for _, n in broad.facets["kind"]) == pytest.approx(31, abs=2)
    assert [h.slug for h in broad.hits] == [h.slug for h in counted.hits]
    assert broad.hits[0].title == "Pricing above all"
    kb.index.forget_rankings()
    assert every_page("pricing") == counted_pages and len(set(counted_pages)) == 31
    # New entries are taken into a broad ranking (an answer a second must not rank it anew):
    # one without the words leaves it as it was; one with them joins the pool and the total.
    kb.index.forget_rankings()
    kb.search("pricing", per_page=3)  # ranked anew and kept, its rest not read
    kept = kb.index._rankings.get((meaning.plan("pricing"), Filters())).ranking
    kb.publish(entry("Unrelated again", day=28))
    kb.search("pricing", per_page=3)
    assert kb.index._rankings.get((meaning.plan("pricing"), Filters())).ranking is kept
    kb.publish(entry("Pricing again", day=28, body="pricing"))
    again = kb.search("pricing", per_page=3)
    assert again.total == 32 and again.estimated and again.hits[0].title == "Pricing again"
    assert kb.index._rankings.get((meaning.plan("pricing"), Filters())).ranking.rest is None
    pages = every_page("pricing")
    assert len(pages) == len(set(pages)) == 32 and "2026-01-28-pricing-again" in pages
    kb.sync()  # a write that adds no entry (the folders' mtimes): the rankings stand
    kinds = [kb.search("pricing", kind=k).total for k in ("debrief", "lesson")]
    assert kb.search("pricing", per_page=3).total == sum(kinds) == 32
    assert kb.search("pricing", kind="lesson").estimated is False  # filters: every match counted


def test_a_worker_s_first_broad_search_loads_the_newest_facts_and_the_rest_follows(
    tmp_path, entries_dir, monkeypatch
):
    db = tmp_path / "data" / "index.sqlite3"
    kb = KnowledgeBase(db, entries_dir)
    put(kb, *(entry(f"Note {n}", day=1 + n % 28, body="pricing talk") for n in range(30)))
    put(kb, *(entry(f"Other {n}", day=1 + n % 28, body="support") for n in range(5)))
    monkeypatch.setattr(search, "SAMPLE", 8)
    monkeypatch.setattr(search, "RANK_POOL", 4)

    def after_a_broad_search() -> KnowledgeBase:
        fresh = KnowledgeBase(db, entries_dir)  # another worker: no facts loaded yet
        assert fresh.search("pricing", per_page=4).estimated  # a page within the pool
        loaded = fresh.index._facts._table.known(range(1, 100))
        assert 8 <= len(loaded) < 35  # the newest matches' facts, not every entry's
        return fresh

    checks = [
        lambda k: len({h.slug for p in (1, 2, 3) for h in k.search("pricing", page=p).hits}),
        lambda k: k.search("").total + sum(n for _, n in k.search("").facets["kind"]),
        lambda k: len(k.facts()),
        lambda k: k.search("pricing", kind="lesson").total,
        lambda k: k.search("support").total + k.search("support", per_page=1).full,
    ]
    assert [check(after_a_broad_search()) for check in checks] == [30, 70, 35, 30, 10]
    kb.index.close()


# --- facets and filters ---------------------------------------------------------------------


@pytest.fixture
def catalogue(kb, entries_dir):
    """Five entries with known facets."""
    return put(
        kb,
        entry("Lost on price", day=1, kind="debrief", competitor="globex", rep="ana@x.io",
              prospect_reasons=["price"], rep_reasons=["price"], themes=["honesty"]),
        entry("Lost on trust", day=2, kind="debrief", competitor="globex", rep="ben@x.io",
              prospect_reasons=["trust", "price"], rep_reasons=["timing"], themes=["trust"]),
        entry("Support story", day=3, kind="debrief", competitor="initech", rep="ana@x.io",
              prospect_reasons=["support"], rep_reasons=["trust"], themes=["trust", "honesty"]),
        entry("Lesson on price", day=4, rep="ana@x.io", themes=["overpromising"]),
        entry("Lesson on trust", day=5, themes=["trust"]),
    )  # fmt: skip


def test_facets_count_the_whole_result_set(kb, catalogue):
    results = kb.search("", per_page=1)
    assert results.total == 5 and len(results.hits) == 1
    facets = results.facets
    assert facets["kind"] == [("debrief", 3), ("lesson", 2)]
    assert facets["theme"] == [("trust", 3), ("honesty", 2), ("overpromising", 1)]
    assert facets["reason"] == [("price", 2), ("trust", 2), ("support", 1), ("timing", 1)]
    assert facets["competitor"] == [("globex", 2), ("initech", 1)]
    assert facets["rep"] == [("ana@x.io", 3), ("ben@x.io", 1)]
    searched = kb.search("price").facets  # titles and reasons are both searched
    assert searched["kind"] == [("debrief", 2), ("lesson", 1)]


FILTERS = [
    ({"kind": "lesson"}, {"Lesson on price", "Lesson on trust"}),
    ({"theme": "honesty"}, {"Lost on price", "Support story"}),
    ({"reason": "trust"}, {"Lost on trust", "Support story"}),  # prospect OR rep reason
    ({"reason": "tim"}, set()),  # exact slug, no prefix
    ({"competitor": "globex"}, {"Lost on price", "Lost on trust"}),
    ({"rep": "ana@x.io"}, {"Lost on price", "Support story", "Lesson on price"}),
    ({"date_from": "2026-01-04"}, {"Lesson on price", "Lesson on trust"}),
    ({"date_to": "2026-01-01"}, {"Lost on price"}),
    ({"date_from": "2026-01-02", "date_to": "2026-01-03"}, {"Lost on trust", "Support story"}),
    ({"date_from": "not a date"}, {"Lost on price", "Lost on trust", "Support story",
                                   "Lesson on price", "Lesson on trust"}),
    ({"kind": "memo"}, set()),
    ({"theme": "trust", "rep": "ana@x.io"}, {"Support story"}),
]  # fmt: skip


@pytest.mark.parametrize(("filters", "titles"), FILTERS)
@pytest.mark.parametrize("q", ["", "on"])
def test_filters(kb, catalogue, filters, titles, q):
    expected = {t for t in titles if " on " in t} if q else titles  # browsing and searching
    results = kb.search(q, **filters)
    assert {h.title for h in results.hits} == expected
    assert results.total == len(expected)
    assert sum(n for _, n in results.facets["kind"]) == len(expected)


def test_facets_and_filters_agree_with_the_entries_after_edits_and_removals(kb, entries_dir):
    # The engine keeps facts as columns indexed by row id; every edit gives a row a new id and
    # leaves a hole. Counting each entry's facts one by one must give the same figures.
    rng = random.Random(7)
    written = put(kb, *[
        entry(f"Entry {n}", day=rng.randint(1, 28), kind=rng.choice(["debrief", "lesson"]),
              competitor=rng.choice([None, "globex", "initech"]),
              rep=rng.choice([None, "ana@x.io", "ben@x.io"]),
              prospect_reasons=rng.sample(["price", "trust", "timing"], rng.randint(0, 2)),
              rep_reasons=rng.sample(["price", "support"], rng.randint(0, 1)),
              themes=rng.sample(["honesty", "trust", "onboarding"], rng.randint(0, 2)),
              trust=rng.choice([None, 1, 5]), deal=rng.choice([None, 3, 10**17]))
        for n in range(60)
    ])  # fmt: skip
    for item in rng.sample(written, 20):
        item.themes = rng.sample(["honesty", "trust", "pricing"], rng.randint(0, 2))
        item.rep = rng.choice([None, "cy@x.io"])
        kb.update(item)
    for item in rng.sample(written, 10):
        kb.remove(item)
    facts = kb.facts()
    assert len(facts) == 50
    dates = [f["date"] for f in facts]
    assert dates == sorted(dates, reverse=True)  # newest first
    for f in facts:
        on_disk = kb.read(f["slug"])
        assert (f["themes"], f["rep"], f["trust"], f["deal"], f["date"]) == (
            on_disk.themes,
            on_disk.rep,
            on_disk.trust,
            on_disk.deal,
            on_disk.date.isoformat(),
        )
    for filters in ({}, {"kind": "lesson"}, {"theme": "pricing"}, {"reason": "price"},
                    {"rep": "cy@x.io", "competitor": "globex"}, {"date_from": "2026-01-10",
                    "date_to": "2026-01-20"}, {"theme": "trust", "reason": "support"}):  # fmt: skip
        kept = [f for f in facts if _passes(f, filters)]
        for q in ("", "entry"):
            results = kb.search(q, per_page=100, **filters)
            assert sorted(h.slug for h in results.hits) == sorted(f["slug"] for f in kept)
            expected = {facet: Counter() for facet in ("kind", "theme", "reason", "rep")}
            for f in kept:
                expected["kind"][f["kind"]] += 1
                expected["theme"].update(f["themes"])
                expected["reason"].update(set(f["prospect_reasons"] + f["rep_reasons"]))
                expected["rep"].update([f["rep"]] if f["rep"] else [])
            for facet, counts in expected.items():
                assert dict(results.facets[facet]) == dict(counts), (filters, q, facet)


def _passes(fact: dict, filters: dict) -> bool:
    """Whether one entry's facts pass search filters, worked out by hand."""
    reasons = fact["prospect_reasons"] + fact["rep_reasons"]
    return all(
        (
            fact["kind"] == filters.get("kind", fact["kind"]),
            fact["rep"] == filters.get("rep", fact["rep"]),
            fact["competitor"] == filters.get("competitor", fact["competitor"]),
            "theme" not in filters or filters["theme"] in fact["themes"],
            "reason" not in filters or filters["reason"] in reasons,
            filters.get("date_from", "") <= fact["date"] <= filters.get("date_to", "9999"),
        )
    )


# --- hostile input --------------------------------------------------------------------------

HOSTILE = ['e-mail', 'foo"', '(a OR b) c', 'AND', 'OR', 'NOT', 'NEAR', 'NEAR(a b)', '*', ':',
           '-', '"', '""', "'", 'title:price', '{title}: x', '^price', 'a AND', '(', ')',
           'x' * 10_000, 'price ' * 2000, '\x00', '\ud800', '\ue000', 'a*b', '+-', 'NEAR/3',
           'col : x',
           '🙂', 'שלום', 'e\u0301', '_', '...', '\\', '%', '[x]']  # fmt: skip


def assert_fts5_accepts(kb: KnowledgeBase, q: str) -> None:
    """Every expression of the query's plan is valid FTS5 on its table (no safety net)."""
    plan = make_plan(q)
    if plan is None:
        return
    conn = kb.index.db.conn()
    conn.execute("SELECT count(*) FROM fts_exact WHERE fts_exact MATCH ?", (plan.exact,))
    for expression in (plan.forms, plan.meant, plan.any, *(t.meant for t in plan.terms)):
        conn.execute("SELECT count(*) FROM fts WHERE fts MATCH ?", (expression,))


@pytest.mark.parametrize("q", HOSTILE)
def test_hostile_queries_never_fail(kb, catalogue, q):
    results = kb.search(q, kind="debrief", theme="trust", per_page=100, typed=True)
    assert all(h.kind == "debrief" and "trust" in h.themes for h in results.hits)
    assert results.total == len(results.hits)
    assert results.full == full_matches(kb, q, "trust")
    assert_fts5_accepts(kb, q)


def full_matches(kb, q: str, theme: str | None = None) -> int:
    """How many entries have every word of q, counted by FTS5 itself (no safety net)."""
    plan = make_plan(q)
    if plan is None:
        return 0 if q.strip() else matches(kb, "", theme)  # only symbols: nothing searched
    return matches(kb, plan.meant, theme)


def matches(kb, expression: str, theme: str | None = None) -> int:
    """How many entries FTS5 itself finds for an expression ('' for every entry)."""
    sql, params = "SELECT count(*) FROM entry e", []
    if expression:
        sql += " JOIN fts ON fts.rowid = e.id WHERE fts MATCH ?"
        params.append(expression)
    else:
        sql += " WHERE 1"
    if theme:
        sql += " AND e.kind = 'debrief' AND e.id IN"
        sql += " (SELECT entry_id FROM entry_tag WHERE facet = 'theme' AND value = ?)"
        params.append(theme)
    return kb.index.db.conn().execute(sql, params).fetchone()[0]


@settings(
    max_examples=300,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(q=st.text())
def test_any_text_is_a_valid_query(kb, catalogue, q):
    assert_fts5_accepts(kb, q)
    assert kb.search(q, typed=True).full == full_matches(kb, q)


def test_operators_are_searched_as_words(kb, entries_dir):
    put(kb, entry("Why e-mail matters", body="NEAR the end AND OR"))
    assert kb.search("e-mail").total == 1
    assert kb.search("near and").total == 1


# --- keeping up with the files --------------------------------------------------------------

HEADER = "---\nTitle: {title}\nKind: lesson\nDate: 2026-02-0{day}\n---\n\n{body}"


def write_by_hand(path: Path, title: str, body: str = "", day: int = 1) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER.format(title=title, body=body, day=day))


def test_sync_picks_up_new_changed_deleted_and_broken_files(kb, entries_dir):
    write_by_hand(entries_dir / "2026" / "first.md", "First lesson", "alpha")
    write_by_hand(entries_dir / "2026" / "second.md", "Second lesson", "beta")
    assert kb.sync()[:3] == (2, 0, 0)
    assert kb.sync()[:3] == (0, 0, 0)  # nothing changed, nothing parsed

    write_by_hand(entries_dir / "2026" / "first.md", "First lesson", "gamma, edited by hand")
    os.utime(entries_dir / "2026" / "first.md", ns=(1, 1))  # a new mtime even on coarse clocks
    (entries_dir / "2026" / "second.md").unlink()
    (entries_dir / "2026" / "broken.md").write_bytes(b"\x00\x01binary")
    added, changed, removed, problems = kb.sync()
    assert (added, changed, removed) == (0, 1, 1)
    assert [Path(p.path).name for p in problems] == ["broken.md"]
    assert kb.problems()[0] == [("2026/broken.md", problems[0].reason)]
    assert kb.search("gamma").total == 1 and kb.search("alpha").total == 0
    assert kb.search("beta").total == 0 and kb.entry_count() == 1

    write_by_hand(entries_dir / "2026" / "broken.md", "Fixed now")
    assert kb.sync()[:3] == (1, 0, 0) and kb.problems()[0] == []


def test_sync_notices_a_change_of_size_alone_and_of_time_alone(kb, entries_dir):
    path = entries_dir / "2026" / "first.md"
    write_by_hand(path, "First lesson", "alpha")
    os.utime(path, ns=(10**18, 10**18))
    assert kb.sync()[:3] == (1, 0, 0)
    write_by_hand(path, "First lesson", "alpha, longer")  # another size, the same mtime
    os.utime(path, ns=(10**18, 10**18))
    assert kb.sync()[:3] == (0, 1, 0) and kb.search("longer").total == 1
    write_by_hand(path, "First lesson", "gamma, longer")  # the same size, another mtime
    os.utime(path, ns=(10**18 + 1, 10**18 + 1))
    assert kb.sync()[:3] == (0, 1, 0) and kb.search("gamma").total == 1
    assert kb.sync()[:3] == (0, 0, 0)


def test_sync_walks_folders_at_any_depth_and_notices_a_folder_removed_whole(kb, entries_dir):
    # A full sync compares the files with the rows folder by folder; the rows of a folder that
    # no longer exists are found after the walk.
    write_by_hand(entries_dir / "top.md", "At the top")
    write_by_hand(entries_dir / "2025" / "year.md", "In a year")
    write_by_hand(entries_dir / "notes" / "deep" / "deeper" / "deep.md", "Deep down")
    write_by_hand(entries_dir / "notes" / "deep" / "beside.md", "Beside")
    (entries_dir / "notes" / "deep" / "broken.md").write_bytes(b"\xff\xfe not text")
    added, changed, removed, problems = kb.sync()
    assert (added, changed, removed, len(problems)) == (4, 0, 0, 1)
    assert kb.sync()[:3] == (0, 0, 0)
    shutil.rmtree(entries_dir / "notes" / "deep")
    write_by_hand(entries_dir / "top.md", "At the top, edited")
    os.utime(entries_dir / "top.md", ns=(1, 1))
    added, changed, removed, problems = kb.sync()
    assert (added, changed, removed, problems) == (0, 1, 2, [])
    assert sorted(f["slug"] for f in kb.index.facts()) == ["top", "year"]
    assert kb.index.query("edited").total == 1


def test_a_good_file_that_breaks_leaves_the_index(kb, entries_dir):
    write_by_hand(entries_dir / "one.md", "One")
    kb.sync()
    (entries_dir / "one.md").write_bytes("---\nTitle: Caf\xe9\n---\n".encode("latin-1"))
    assert kb.sync()[2] == 1
    assert kb.entry_count() == 0 and kb.problems()[0][0][1].startswith("not UTF-8 text")


def test_a_hand_written_file_s_repairs_are_kept_as_warnings(kb, entries_dir):
    (entries_dir / "one.md").write_text("---\nTitle: One\nDate: 2026-01-02\n---\n\nBody.\n")
    kb.sync()
    assert kb.problems()[1] == [("one.md", "no Kind: read as a lesson")]
    (entries_dir / "one.md").write_text("---\nTitle: One\nDate: 2026-01-02\nKind: lesson\n---\n")
    os.utime(entries_dir / "one.md", ns=(1, 1))  # a new mtime even on coarse clocks
    kb.sync()
    assert kb.problems()[1] == [] and kb.entry_count() == 1


def test_duplicate_slugs_are_reported(kb, entries_dir):
    write_by_hand(entries_dir / "a" / "same.md", "From a")
    write_by_hand(entries_dir / "b" / "same.md", "From b")
    _, _, _, problems = kb.sync()
    assert kb.entry_count() == 1 and len(problems) == 1
    assert "duplicate slug" in problems[0].reason
    assert [p.reason for p in kb.rebuild()] == [problems[0].reason]


def test_sync_if_stale_notices_a_hand_added_file(kb, entries_dir):
    put(kb, entry("Written by the app"))
    kb.index.sync_if_stale(max_age=0)
    assert kb.entry_count() == 1
    time.sleep(0.01)
    write_by_hand(entries_dir / "2026" / "by-hand.md", "Pulled from git")
    kb.index.sync_if_stale(max_age=60)  # checked just now: no work yet
    kb.index.sync_if_stale(max_age=0)
    assert kb.search("pulled").total == 1


def test_rebuild_from_nothing_equals_incremental(tmp_path, kb, entries_dir, catalogue):
    (entries_dir / "starter").mkdir()
    write_by_hand(entries_dir / "starter" / "starter-one.md", "A starter lesson", "trust first")
    (entries_dir / "broken.md").write_bytes(b"\x00")
    (entries_dir / "no-header.md").write_text("Only a line of text.\n")
    kb.sync()
    kb.index.remove(catalogue[0].slug)
    catalogue[0].path.unlink()
    kb.sync()
    fresh = KnowledgeBase(tmp_path / "other" / "index.sqlite3", entries_dir)
    progress = []
    problems = fresh.rebuild(lambda done, total: progress.append((done, total)))
    assert progress[-1] == (7, 7) and [Path(p.path).name for p in problems] == ["broken.md"]

    def key(facts):
        return sorted(facts, key=lambda f: f["slug"])

    assert key(fresh.facts()) == key(kb.facts())
    assert fresh.problems()[0] == kb.problems()[0]
    assert fresh.problems()[1] == kb.problems()[1] and len(kb.problems()[1]) == 1
    for q in ("", "trust", "lesson", "price"):
        a, b = fresh.search(q), kb.search(q)
        assert (a.total, a.facets) == (b.total, b.facets)
        assert [h.slug for h in a.hits] == [h.slug for h in b.hits]
    fresh.index.close()


def test_remove_and_facts(kb, entries_dir, catalogue):
    facts = kb.facts()
    assert [f["date"] for f in facts] == sorted((f["date"] for f in facts), reverse=True)
    first = next(f for f in facts if f["slug"] == catalogue[0].slug)
    assert first == {
        "slug": catalogue[0].slug, "date": "2026-01-01", "kind": "debrief", "rep": "ana@x.io",
        "competitor": "globex", "outcome": None, "themes": ["honesty"],
        "prospect_reasons": ["price"], "rep_reasons": ["price"], "trust": None, "deal": None,
    }  # fmt: skip
    first["themes"].append("mutated")  # callers get copies
    assert kb.search("price").total == 3
    kb.index.remove(catalogue[0].slug)
    kb.index.remove("no-such-slug")
    assert kb.entry_count() == 4 and kb.search("price").total == 2
    assert all(f["themes"] != ["honesty", "mutated"] for f in kb.facts())


def test_cached_results_take_in_added_entries_like_a_fresh_index(kb, entries_dir, tmp_path):
    # A ranking is kept between requests and only takes in the entries added since (an answer
    # adds one): what it then returns must be what a fresh computation returns.
    rng = random.Random(5)
    words = ["price", "budget", "support", "roadmap", "trial", "contract"]

    def some(n: int, start: int) -> list[Entry]:
        return [
            entry(f"Entry {start + k} {rng.choice(words)}", day=rng.randint(1, 28),
                  body=" ".join(rng.choices(words, k=12)), competitor=rng.choice(["acme", None]),
                  themes=rng.sample(["pricing", "support"], rng.randint(0, 2)))
            for k in range(n)
        ]  # fmt: skip

    put(kb, *some(40, 0))
    asks = [{"q": ""}, {"q": "price"}, {"q": "price budget"}, {"q": "", "competitor": "acme"},
            {"q": "support", "theme": "pricing"}, {"q": "", "page": 2, "per_page": 7}]  # fmt: skip
    for ask in asks:
        kb.search(**ask)  # cached now
    for round_ in range(3):
        put(kb, *some(3, 100 + 10 * round_))
        fresh = KnowledgeBase(kb.index.db_path, entries_dir)
        for ask in asks:
            got, want = kb.search(**ask), fresh.search(**ask)
            assert (got.total, got.facets) == (want.total, want.facets), ask
            if ask["q"]:  # earlier BM25 scores are kept: the same matches, maybe in another order
                everything = {**ask, "per_page": 100}
                assert {h.slug for h in kb.search(**everything).hits} == {
                    h.slug for h in fresh.search(**everything).hits
                }, ask
            else:
                assert [h.slug for h in got.hits] == [h.slug for h in want.hits], ask
        fresh.index.close()
    kb.index.remove(kb.search().hits[0].slug)  # a deletion: computed again from scratch
    fresh = KnowledgeBase(kb.index.db_path, entries_dir)
    for ask in asks:
        got, want = kb.search(**ask), fresh.search(**ask)
        assert [h.slug for h in got.hits] == [h.slug for h in want.hits], ask
    fresh.index.close()


def test_readd_replaces_by_slug(kb, entries_dir):
    (written,) = put(kb, entry("Lesson", body="old words"))
    written.body = "new words"
    kb.index.add(written)
    assert kb.entry_count() == 1
    assert kb.search("old").total == 0 and kb.search("new").total == 1


def test_index_from_another_schema_is_recreated(tmp_path, entries_dir):
    db = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE entry (x)")
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    write_by_hand(entries_dir / "one.md", "One")
    idx = KnowledgeBase(db, entries_dir)
    idx.sync()
    assert idx.entry_count() == 1
    idx.index.close()


def test_index_from_another_schema_finds_the_files_without_a_sync(tmp_path, entries_dir):
    # An upgrade that changes the schema must not leave every search empty until a sync.
    db = tmp_path / "old.sqlite3"
    old = KnowledgeBase(db, entries_dir)
    old.index.close()
    write_by_hand(entries_dir / "one.md", "Price objection", body="The budget was cut.")
    write_by_hand(entries_dir / "two.md", "Slow support", body="Support took days.")
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    idx = KnowledgeBase(db, entries_dir)
    assert idx.entry_count() == 2
    assert [h.title for h in idx.search("budget").hits] == ["Price objection"]
    idx.index.close()


# --- concurrency ----------------------------------------------------------------------------


def test_writes_made_while_a_rebuild_reads_the_files_are_kept(tmp_path, entries_dir):
    # Another worker publishes, edits and removes entries after a rebuild has read the files
    # and before it writes: its rows replace the whole index, and must not lose those writes
    # (a worker opening a new index rebuilds it while the others already take answers).
    db = tmp_path / "data" / "index.sqlite3"
    kb = KnowledgeBase(db, entries_dir)
    _kept, edited, removed = put(
        kb, entry("Kept"), entry("Edited", body="old words"), entry("Removed")
    )
    other = KnowledgeBase(db, entries_dir)
    progress = []

    def meanwhile(done: int, total: int) -> None:
        progress.append(done)
        if done == total:  # every file read, nothing written yet
            other.publish(entry("Written meanwhile", day=2))
            edited.body = "new words"
            other.update(edited)
            other.remove(removed)

    assert kb.rebuild(meanwhile) == []
    assert progress == [3]
    # Straight from the index: no search or sync of its own to catch up.
    assert sorted(f["slug"] for f in kb.index.facts()) == [
        "2026-01-01-edited",
        "2026-01-01-kept",
        "2026-01-02-written-meanwhile",
    ]
    assert kb.index.query("new").total == 1 and kb.index.query("old").total == 0
    assert kb.sync()[:3] == (0, 0, 0)  # the files and the index agree
    other.index.close()
    kb.index.close()


def test_a_sync_planned_before_a_rebuild_does_not_apply_after_it(tmp_path, kb, entries_dir):
    # A full sync plans with the index's row ids; a rebuild numbers the rows anew, so a plan
    # applied after one would delete whichever entry now has a gone file's old id.
    put(kb, entry("Alpha"), entry("Bravo"), entry("Charlie"))
    (entries_dir / "2026" / "2026-01-01-charlie.md").unlink()
    todo = sync.plan(kb.index.db.conn(), entries_dir, None)
    assert todo.gone == ["2026/2026-01-01-charlie.md"]
    write_by_hand(entries_dir / "2026" / "2026-01-01-delta.md", "Delta")
    kb.rebuild()
    assert sync.apply(kb.index.db, entries_dir, todo) == (0, 0, 0)
    assert sorted(f["slug"] for f in kb.index.facts()) == [
        "2026-01-01-alpha",
        "2026-01-01-bravo",
        "2026-01-01-delta",
    ]


def _add_many(db: str, entries_dir: str, worker: int, count: int) -> None:
    """Child process: write and index `count` entries."""
    idx = KnowledgeBase(Path(db), Path(entries_dir))
    for n in range(count):
        written = write_entry(Path(entries_dir), entry(f"Worker {worker} entry {n}"))
        idx.index.add(written)
    idx.index.close()


@pytest.mark.slow
def test_processes_adding_at_once_lose_nothing(tmp_path, entries_dir):
    db = tmp_path / "data" / "index.sqlite3"
    KnowledgeBase(db, entries_dir).index.close()
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_add_many, args=(str(db), str(entries_dir), w, 25))
               for w in range(4)]  # fmt: skip
    for p in workers:
        p.start()
    for p in workers:
        p.join(120)
    assert [p.exitcode for p in workers] == [0, 0, 0, 0]
    idx = KnowledgeBase(db, entries_dir)
    assert idx.entry_count() == 100
    assert idx.search("worker", per_page=1).total == 100
    assert idx.sync()[:3] == (0, 0, 0)  # the files and the index agree
    idx.index.close()


def test_threads_share_one_index(kb, entries_dir):
    import threading

    errors = []

    def work(n):
        try:
            for i in range(10):
                put(kb, entry(f"Thread {n} lesson {i}"))
                kb.search("thread")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and kb.search("thread").total == 40


def test_in_place_edit_is_caught_by_the_periodic_full_sync(kb, entries_dir, monkeypatch):
    import debrief.index.staleness

    write_by_hand(entries_dir / "2026" / "edited.md", "Before", "old words")
    kb.index.sync_if_stale(max_age=0)
    folder = entries_dir / "2026"
    folder_mtime = folder.stat().st_mtime_ns
    write_by_hand(folder / "edited.md", "After", "new words")
    os.utime(folder / "edited.md", ns=(5, 5))
    os.utime(folder, ns=(folder_mtime, folder_mtime))  # an editor writing in place
    kb.index.sync_if_stale(max_age=0)
    assert kb.search("new").total == 0  # the folder check alone cannot see it
    monkeypatch.setattr(debrief.index.staleness, "FULL_SYNC_EVERY", 0.0)
    kb.index.sync_if_stale(max_age=0)  # starts the full sync in the background
    deadline = time.monotonic() + 10
    while kb.search("new").total == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert kb.search("new").total == 1 and kb.search("old").total == 0


def test_the_staleness_check_syncs_only_the_folders_that_changed(kb, entries_dir):
    # Another worker's answer or a git pull changes one year folder: syncing that folder alone
    # keeps the check cheap at 50k files (a whole-tree sync is the periodic full sync's job).
    write_by_hand(entries_dir / "2025" / "kept.md", "Kept", "old words")
    write_by_hand(entries_dir / "2026" / "sub" / "nested.md", "Nested", "deep words")
    kb.index.sync_if_stale(max_age=0)
    assert kb.search("old").total == 1 and kb.search("deep").total == 1
    other = entries_dir / "2025"
    other_mtime = other.stat().st_mtime_ns
    write_by_hand(other / "kept.md", "Kept", "new words")  # in place: its folder looks unchanged
    os.utime(other / "kept.md", ns=(5, 5))
    os.utime(other, ns=(other_mtime, other_mtime))
    time.sleep(0.01)
    write_by_hand(entries_dir / "2026" / "added.md", "Added", "fresh words")
    shutil.rmtree(entries_dir / "2026" / "sub")
    kb.index.sync_if_stale(max_age=0)
    assert kb.search("fresh").total == 1  # the changed folder was synced...
    assert kb.search("deep").total == 0  # ...down into its subfolders
    assert kb.search("new").total == 0  # the unchanged folder was not read
    kb.sync()
    assert kb.search("new").total == 1 and kb.search("old").total == 0


def test_one_process_at_a_time_does_the_periodic_full_sync(tmp_path, kb, entries_dir):
    # Each worker process has its own KnowledgeBase; the claim is kept in the shared index file.
    other = KnowledgeBase(tmp_path / "data" / "index.sqlite3", entries_dir)
    try:
        assert kb.index._claim_full_sync() is True
        assert other.index._claim_full_sync() is False
        assert kb.index._claim_full_sync() is False
    finally:
        other.index.close()


def test_facts_of_one_deal(kb, entries_dir):
    put(kb, entry("Deal seven", deal=7, day=2), entry("Deal seven again", deal=7),
        entry("Deal eight", deal=8))  # fmt: skip
    assert [f["deal"] for f in kb.index.facts(deal=7)] == [7, 7]
    assert kb.index.facts(deal=7)[0]["date"] == "2026-01-02"
    assert kb.index.facts(deal=9) == [] and kb.index.facts(deal="x") == []


def test_cached_rankings_take_in_new_entries_like_a_fresh_index(tmp_path, kb, entries_dir):
    # Each answer adds an entry; a cached ranking takes it in (search.advance) instead of being
    # computed again. What it shows must be what a process with no cache computes.
    words = ["price", "budget", "onboarding", "support", "timing"]
    put(kb, *[
        entry(f"Deal {n}", day=1 + n % 28, body=f"{words[n % 5]} and {words[(n * 3) % 5]}",
              competitor=["Acme", "Globex"][n % 2], prospect_reasons=[["price"], ["timing"]][n % 2])
        for n in range(40)
    ])  # fmt: skip
    searches = [("", {}), ("price", {}), ("budget", {"competitor": "acme"}),
                ("onboard", {}), ("", {"reason": "timing"})]  # fmt: skip
    for q, filters in searches:
        kb.search(q, **filters)  # cached now
    # Some new entries match a search, some match none of them.
    new = [
        entry("Deal new price", day=28, body="price again", competitor="Acme"),
        entry("Unrelated", day=27, body="nothing in common", prospect_reasons=["other"]),
    ]
    put(kb, *new)
    fresh = KnowledgeBase(tmp_path / "data" / "index.sqlite3", entries_dir)
    try:
        for q, filters in searches:
            cached, computed = kb.search(q, **filters), fresh.search(q, **filters)
            assert cached.total == computed.total, q
            assert cached.facets == computed.facets, q
            if not q:  # newest first is exact; BM25 of earlier matches is kept as computed
                assert [h.slug for h in cached.hits] == [h.slug for h in computed.hits]
            assert {h.slug for h in cached.hits} == {h.slug for h in computed.hits}, q
    finally:
        fresh.index.close()


def test_a_page_of_results_shows_an_edited_entry_as_it_is_now(kb, entries_dir):
    # Pages of hits are kept by their entry ids; an edited entry is indexed under a new id.
    (first,) = put(kb, entry("Budget notes", body="the budget was frozen"))
    assert "frozen" in str(kb.search("budget").hits[0].snippet)
    kb.index.add(replace(first, title="Budget notes, edited", body="the budget moved to next year"))
    hit = kb.search("budget").hits[0]
    assert hit.title == "Budget notes, edited" and "next year" in str(hit.snippet)
    assert "frozen" not in str(hit.snippet)


def test_an_entry_being_written_is_not_mistaken_for_a_hand_edit(tmp_path, kb, entries_dir):
    # Another worker's check that sees the folder change while an answer is written waits for
    # the writer's index row instead of syncing the folder (20k files at 50k entries).
    put(kb, entry("Already there"))
    other = KnowledgeBase(tmp_path / "data" / "index.sqlite3", entries_dir)
    written, release = threading.Event(), threading.Event()

    def write() -> Entry:
        saved = write_entry(entries_dir, entry("In flight", day=2))
        written.set()
        release.wait(10)
        return saved

    writer = threading.Thread(target=kb.index.add_written, args=(write,))
    writer.start()
    assert written.wait(10)
    seen: list[list[str]] = []
    checker = threading.Thread(target=lambda: seen.append(other.index._folders_changed()))
    checker.start()
    checker.join(0.3)
    assert checker.is_alive()  # waiting for the writer's lock, not syncing
    release.set()
    writer.join(10)
    checker.join(10)
    assert seen == [[]] and other.search("flight").total == 1
    time.sleep(0.01)
    write_by_hand(entries_dir / "2026" / "by-hand.md", "By hand")
    assert other.index._folders_changed() == ["2026"]
    other.index.close()


def test_adding_an_entry_exactly_as_indexed_keeps_its_row(kb, entries_dir):
    # A sync and the entry's writer may both add it; a new id would make every cached
    # ranking start over.
    (written,) = put(kb, entry("Once", body="words"))
    ids = kb.index.db.conn().execute("SELECT id FROM entry").fetchall()
    kb.index.add(written)
    assert kb.index.db.conn().execute("SELECT id FROM entry").fetchall() == ids
    kb.index.add(replace(written, title="Twice"))
    assert kb.index.db.conn().execute("SELECT id FROM entry").fetchall() != ids
    assert kb.search("twice").total == 1 and kb.entry_count() == 1


def test_forget_rankings_makes_the_next_search_rank_anew(kb, entries_dir, monkeypatch):
    import debrief.index.querying

    put(kb, entry("Budget talk", body="budget"), entry("Other", body="budget too"))
    first = kb.search("budget")
    ranked: list[str] = []
    real = debrief.index.querying.rank_search
    monkeypatch.setattr(
        debrief.index.querying, "rank_search", lambda *a: ranked.append("x") or real(*a)
    )
    assert kb.search("budget") == first and ranked == []  # cached
    kb.index.forget_rankings()
    assert kb.search("budget") == first and ranked == ["x"]  # the same, computed again
