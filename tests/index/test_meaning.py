"""Search by what a rep means (SPEC 2.5, issue 15), in the engine alone (KnowledgeBase, no Flask
app): exact words ranked above their forms and synonyms, spellings, the synonym list, hostile
synonym lines, the exact table. The app's /kb tests of the same are in tests/test_meaning.py."""

from __future__ import annotations

import datetime

import pytest

from debrief.entries import Entry
from debrief.index import KnowledgeBase, meaning


def _day(n: int) -> datetime.date:
    """A day of February 2026."""
    return datetime.date(2026, 2, n)


# --- word forms ----------------------------------------------------------------------------------


def test_the_exact_word_ranks_above_its_other_forms(tmp_path):
    base = KnowledgeBase(tmp_path / "index.sqlite", tmp_path / "entries")
    # The stem-only match is newer and has the word in its title: ranked on BM25 alone, it led.
    newer = Entry(kind="lesson", title="Pricing", body="pricing pricing", date=_day(9))
    assert rankings(base, newer, "one price, once", "price", "pricing") == [
        ["Notes", "Pricing"],
        ["Pricing", "Notes"],
    ]


def rankings(base: KnowledgeBase, newer: Entry, words: str, *queries: str) -> list[list[str]]:
    """The titles each query finds, best first, after `newer` and an older long entry "Notes"
    that has `words` once in its text are published."""
    base.publish(newer)
    base.publish(Entry(kind="lesson", title="Notes", body=f"{words}, in a long text " * 5,
                       date=_day(1)))  # fmt: skip
    found = [[h.title for h in base.search(q).hits] for q in queries]
    base.close()
    return found


# --- spellings -----------------------------------------------------------------------------------


def test_a_word_has_its_spelling_in_the_other_english():
    assert meaning.spellings("cancelled") == ["canceled"]
    assert meaning.spellings("organizing") == ["organising"]
    assert meaning.spellings("four") == []  # not "for": no rule for -our, a list


# --- synonyms ------------------------------------------------------------------------------------


def test_the_typed_word_ranks_above_its_synonyms(tmp_path):
    entries = tmp_path / "entries"
    entries.mkdir()
    (tmp_path / "synonyms.txt").write_text("price, cost\n", encoding="utf-8")
    base = KnowledgeBase(tmp_path / "index.sqlite", entries, thesaurus=meaning.Thesaurus(
        tmp_path / "synonyms.txt"))  # fmt: skip
    newer = Entry(kind="lesson", title="Cost", body="cost cost cost", date=_day(9))
    assert rankings(base, newer, "the price, once", "price", "cost") == [
        ["Notes", "Cost"],
        ["Cost", "Notes"],
    ]


def test_the_synonym_list_reports_bad_lines_and_keeps_the_rest(tmp_path):
    path = tmp_path / "list.txt"
    path.write_text("# comment\n\nprice, cost\nlonely\n" + "x" * 70 + ", y\nbad\x07, bell\n")
    thesaurus = meaning.Thesaurus(path, tmp_path / "missing.txt")  # a missing file: none
    assert thesaurus.groups()[("price",)] == {"price", "cost"}
    assert [p.split(":")[0] for p in thesaurus.problems] == [
        "list.txt line 4",
        "list.txt line 5",
        "list.txt line 6",
    ]
    path.write_text("price, cost, quote\n")  # read again when the file changes
    assert thesaurus.groups()[("cost",)] == {"price", "cost", "quote"}


@pytest.mark.parametrize("line", ['" OR *, NEAR(', "e-mail, ^col: x", "(a, b))"])
def test_hostile_synonyms_are_searched_as_words(tmp_path, line):
    (tmp_path / "s.txt").write_text(line + "\n")
    base = KnowledgeBase(tmp_path / "i.sqlite", tmp_path / "e", thesaurus=meaning.Thesaurus(
        tmp_path / "s.txt"))  # fmt: skip
    base.publish(Entry(kind="lesson", title="Hostile", body=line, date=_day(1)))
    base.publish(Entry(kind="lesson", title="Other", body="plain words only", date=_day(2)))
    for q in line.split(","):
        # Each member is its words: it finds the entry that has them, and only that one.
        assert [h.title for h in base.search(q, typed=True).hits] == ["Hostile"], q
    base.close()


# --- the exact table -----------------------------------------------------------------------------


def test_an_edited_or_removed_entry_leaves_the_exact_table_too(tmp_path):
    base = KnowledgeBase(tmp_path / "index.sqlite", tmp_path / "entries")
    first = base.publish(Entry(kind="lesson", title="T", body="pricing", date=_day(1)))
    second = base.publish(Entry(kind="lesson", title="U", body="budget", date=_day(2)))
    exact = "SELECT count(*) FROM fts_exact WHERE fts_exact MATCH ?"
    conn = base.index.db.conn()  # the engine's own table: what this test is about
    assert conn.execute(exact, ("pricing",)).fetchone()[0] == 1
    first.path.write_text(first.path.read_text().replace("pricing", "discount"))
    base.sync()
    assert conn.execute(exact, ("pricing",)).fetchone()[0] == 0
    assert base.search("discount").hits[0].title == "T"
    base.remove(second)
    assert conn.execute(exact, ("budget",)).fetchone()[0] == 0
    base.close()
