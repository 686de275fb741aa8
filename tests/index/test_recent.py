"""The newest entries' own tables (debrief/index/recent.py) and the broad searches they serve."""

import datetime

import pytest

from debrief.entries import Entry
from debrief.index import KnowledgeBase, recent, search
from debrief.index.facts import FactTable, Filters
from debrief.index.meaning import plan as make_plan

WORDS = ["pricing", "support", "rollout", "budget", "trust"]


def entry(n: int, body: str, title: str = "", kind: str = "lesson") -> Entry:
    return Entry(kind=kind, title=title or f"Note {n}", date=datetime.date(2026, 1, 1 + n % 28),
                 body=body)  # fmt: skip


@pytest.fixture
def small(monkeypatch):
    """Recent tables of about 16 rows, trimmed 4 at a time; a broad search from 8 matches."""
    monkeypatch.setattr(recent, "KEEP", 16)
    monkeypatch.setattr(recent, "STEP", 4)
    monkeypatch.setattr(search, "SAMPLE", 8)
    monkeypatch.setattr(search, "RANK_POOL", 8)
    monkeypatch.setattr(search, "RECENT_SAMPLE", 8)
    monkeypatch.setattr(search, "RECENT_ENOUGH", 4)


@pytest.fixture
def kb(tmp_path):
    base = KnowledgeBase(tmp_path / "data" / "index.sqlite3", tmp_path / "entries")
    yield base
    base.index.close()


def held(kb: KnowledgeBase) -> dict[str, tuple]:
    """Per word: (rowids the recent forms table, the recent exact table and fts from
    recent_low up match), which the invariant says are the same."""
    conn = kb.index.db.conn()
    low = recent.low(conn)
    found = {}
    for word in [*WORDS, "gone"]:
        found[word] = tuple(
            [r[0] for r in conn.execute(sql, (word, low)[: sql.count("?")])]
            for sql in (
                "SELECT rowid FROM fts_recent WHERE fts_recent MATCH ?",
                "SELECT rowid FROM fts_recent_exact WHERE fts_recent_exact MATCH ?",
                "SELECT rowid FROM fts WHERE fts MATCH ? AND rowid >= ?",
            )
        )
    return found


def assert_held(kb: KnowledgeBase) -> None:
    for word, (forms, exact, main) in held(kb).items():
        assert forms == exact == main, word


def test_the_recent_tables_hold_the_newest_rows_through_every_write(kb, small):
    made = [kb.publish(entry(n, f"{WORDS[n % 5]} and gone")) for n in range(30)]
    conn = kb.index.db.conn()
    low = recent.low(conn)
    assert 30 - 16 - 4 < low <= 30 - 16 + 1  # trimmed to the newest 16 ids, 4 at a time
    assert_held(kb)
    # An edit moves an entry to a new id (the newest); a removal takes it out; both of an
    # entry among the recent rows and of one older than them.
    for old in (made[2], made[28]):
        old.body = "rollout only"
        kb.update(old)
    kb.remove(made[5])
    kb.remove(made[27])
    assert_held(kb)
    # A rebuild keeps the newest KEEP rows only.
    kb.rebuild()
    rows = conn.execute("SELECT count(*) FROM entry").fetchone()[0]
    assert recent.low(conn) == rows - recent.KEEP + 1
    assert_held(kb)
    assert len(held(kb)["gone"][0]) < len(
        [r for r in conn.execute("SELECT rowid FROM fts WHERE fts MATCH 'gone'")]
    )


def test_an_index_smaller_than_the_recent_tables_is_searched_whole(kb, monkeypatch):
    monkeypatch.setattr(search, "SAMPLE", 8)
    for n in range(18):
        kb.publish(entry(n, "pricing talk"))
    assert recent.low(kb.index.db.conn()) == 1
    found = kb.search("pricing")
    assert (found.total, found.about, found.estimated) == (18, False, True)  # counted


def test_a_broad_search_reads_the_newest_entries_and_estimates_its_total(kb, small):
    # Every other entry has the word: the estimate from the newest matches is about right.
    for n in range(40):
        kb.publish(entry(n, "pricing talk" if n % 2 else "support", kind="debrief"))
    kb.publish(entry(40, "pricing", title="Pricing above all"))
    conn = kb.index.db.conn()
    assert recent.low(conn) > 1
    broad = kb.search("pricing", per_page=3)
    assert broad.about and broad.estimated
    assert broad.total == pytest.approx(21, abs=3)
    assert broad.hits[0].title == "Pricing above all"  # ranked by BM25 in the recent tables
    ranking = kb.index._rankings.get((make_plan("pricing"), Filters())).ranking
    assert ranking.recent and min(ranking.ranked) >= recent.low(conn)
    assert all("<mark>" in str(h.snippet) for h in broad.hits)  # snippets from fts_recent
    # The pages past the pool read every match: then the total is counted.
    pages = [h.slug for p in range(1, 8) for h in kb.search("pricing", per_page=3, page=p).hits]
    assert len(pages) == len(set(pages)) == 21
    counted = kb.search("pricing", per_page=3)
    assert (counted.total, counted.about) == (21, False)
    # The same search with the recent tables as big as the index: the same first page.
    kb.index.forget_rankings()
    conn.execute("UPDATE state SET value = 1 WHERE key = 'recent_low'")  # fts itself, whole
    whole = kb.search("pricing", per_page=3)
    assert not whole.about and whole.total == 21
    assert [h.slug for h in whole.hits][:1] == [h.slug for h in broad.hits][:1]


def test_a_broad_ranking_of_the_newest_entries_takes_in_new_ones(kb, small):
    for n in range(30):
        kb.publish(entry(n, "pricing talk"))
    first = kb.search("pricing", per_page=3)
    assert first.about
    kept = kb.index._rankings.get((make_plan("pricing"), Filters())).ranking
    kb.publish(entry(31, "nothing of the sort"))
    assert kb.search("pricing", per_page=3).total == first.total
    assert kb.index._rankings.get((make_plan("pricing"), Filters())).ranking is kept
    kb.publish(entry(32, "pricing", title="Pricing again"))
    again = kb.search("pricing", per_page=3)
    assert again.about and again.total == first.total + 1
    assert again.hits[0].title == "Pricing again"
    assert kb.index._rankings.get((make_plan("pricing"), Filters())).ranking.recent


def test_a_search_with_few_matches_among_the_newest_entries_searches_the_whole_index(kb, small):
    for n in range(30):
        kb.publish(entry(n, "legacy system"))
    for n in range(30, 50):
        kb.publish(entry(n, "legacy system" if n in (40, 45) else "pricing talk"))
    assert recent.low(kb.index.db.conn()) > 30  # the recent rows hold 2 of the 32 matches
    found = kb.search("legacy", per_page=3)
    assert (found.total, found.about) == (32, False)  # counted, not estimated
    pages = [h.slug for p in range(1, 12) for h in kb.search("legacy", per_page=3, page=p).hits]
    assert len(set(pages)) == 32


def test_a_page_past_the_end_of_an_estimated_total_shows_the_last_page(kb, small):
    # Only the newest entries have the word: the estimate (their share of the entries they
    # span) is far above the 20 there are; a page past the real end still shows the last one.
    for n in range(30):
        kb.publish(entry(n, "support call"))
    for n in range(30, 50):
        kb.publish(entry(n, "pricing talk"))
    first = kb.search("pricing", per_page=3)
    assert first.about and first.total > 30
    last = kb.search("pricing", per_page=3, page=99)
    assert (last.total, last.about, last.page) == (20, False, 7)
    assert len(last.hits) == 2


def test_the_entries_an_estimate_spans_are_counted_without_the_deleted_ones():
    facts = FactTable()
    facts.load((i, "2026-01-02", "lesson", None, None, None, "", "", "", None, None)
               for i in (1, 2, 5, 9))  # fmt: skip
    assert [facts.entries_from(low) for low in (0, 2, 3, 9, 10, 5000)] == [4, 3, 2, 1, 0, 0]


def test_an_estimate_scales_with_the_entries_written_since_the_last_search(kb, small):
    # The entry count is kept per index state: a search before a burst of writes must not
    # leave the next estimate scaled by the count before them.
    for n in range(40):
        kb.publish(entry(n, "pricing talk" if n % 2 else "support", kind="debrief"))
    assert kb.search("support").hits  # a ranking at this state: its entry count kept
    for n in range(40, 80):
        kb.publish(entry(n, "pricing talk" if n % 2 else "support", kind="debrief"))
    broad = kb.search("pricing", per_page=3)
    assert broad.about and broad.total == pytest.approx(40, abs=6)
