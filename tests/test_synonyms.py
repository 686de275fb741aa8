"""The sales synonym list (debrief/synonyms.txt) keeps the format the search reads (issue 15).

Format: UTF-8; `#` starts a comment line; blank lines are ignored; every other line is one group
of lowercase words or phrases, comma-separated, at least two, none twice.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from debrief import taxonomy
from debrief.index.meaning import parse_list

SYNONYMS = Path(__file__).resolve().parent.parent / "debrief" / "synonyms.txt"


def groups(text: str) -> list[tuple[int, list[str]]]:
    """(line number, members) of each group line, read as the format says."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        found.append((number, [member.strip() for member in line.split(",")]))
    return found


@pytest.fixture(scope="module")
def synonym_groups() -> list[tuple[int, list[str]]]:
    """The groups of the shipped list."""
    return groups(SYNONYMS.read_bytes().decode("utf-8"))  # UTF-8 or this fails


def test_every_line_is_a_group_of_two_or_more_distinct_lowercase_members(synonym_groups):
    assert len(synonym_groups) >= 50
    for number, members in synonym_groups:
        assert len(members) >= 2, f"line {number}: a group needs two members: {members}"
        assert all(members), f"line {number}: an empty member (two commas, or one at the end)"
        assert len(set(members)) == len(members), f"line {number}: a member twice: {members}"
        for member in members:
            assert member == member.lower(), f"line {number}: {member!r} is not lowercase"
            assert member == " ".join(member.split()), f"line {number}: spaces in {member!r}"
            # The search reads a member of at most four words (a phrase, not a sentence).
            assert len(member.split()) <= 4, f"line {number}: {member!r} is a sentence"


def test_every_reason_of_the_taxonomy_has_a_group(synonym_groups):
    members = {m for _, group in synonym_groups for m in group}
    # "other" is a catch-all: the file says why it has no group.
    for slug in set(taxonomy.REASONS) - {"other"}:
        assert slug in members or slug.replace("-", " ") in members, f"no group for {slug}"


def test_the_words_of_the_issue_are_grouped_together(synonym_groups):
    def group_of(word: str) -> set[str]:
        """The group the word is in."""
        return next(set(g) for _, g in synonym_groups if word in g)

    assert {"cost", "costly", "expensive", "pricing"} <= group_of("price")
    assert {"agreement", "lock-in", "binding"} <= group_of("contract")
    assert {"referral", "case study"} <= group_of("reference")
    assert {"phoned", "rang"} <= group_of("called back")
    assert {"implementation", "go-live"} <= group_of("rollout")
    assert "champion" in group_of("sponsor")
    assert {"trial", "proof of concept"} <= group_of("pilot")
    assert "purchasing" in group_of("procurement")


def test_the_search_reads_every_line_of_the_list():
    """The search's own reader (debrief/index/meaning.py) leaves no line of the shipped list out."""
    groups_read, problems = parse_list(SYNONYMS.read_text(encoding="utf-8"))
    assert problems == []
    assert len(groups_read) == len(groups(SYNONYMS.read_text(encoding="utf-8")))


def test_the_format_reader_skips_comments_and_blank_lines():
    text = "# a comment\n\n  # indented comment\nprice, cost\n\nsponsor, champion\n"
    assert groups(text) == [(4, ["price", "cost"]), (6, ["sponsor", "champion"])]
