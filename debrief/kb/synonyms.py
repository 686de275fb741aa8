"""The sales synonyms search uses: the shipped list, and the lines managers add (SPEC 2.5).

The shipped list is DEBRIEF_SYNONYMS (debrief/synonyms.txt); managers' lines live in
<DATA_DIR>/synonyms.txt in the same format. meaning.Thesaurus reads both, again when one changes.
"""

from __future__ import annotations

from pathlib import Path

from flask import current_app

from debrief.files import atomic_write, file_lock
from debrief.index import SynonymError, get_kb, parse_synonym_line, synonyms_path

__all__ = ["SynonymError", "add_line", "added_lines", "problems"]

HEADER = "# Synonyms added by managers on the themes page (same format as debrief/synonyms.txt).\n"


def added_path() -> Path:
    """The managers' list in the data folder."""
    return synonyms_path(current_app.config)


def problems() -> list[str]:
    """The lines of either list that search leaves out, and why (for the managers to fix)."""
    return get_kb().synonym_problems()  # the index holds the thesaurus it searches with


def _lines(text: str) -> list[str]:
    """The group lines of a list's text (no comments, no blank lines)."""
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _parses(line: str) -> bool:
    """Whether a line reads as a group (a bad line is reported by the thesaurus, not here)."""
    try:
        parse_synonym_line(line)
    except SynonymError:
        return False
    return True


def added_lines() -> list[str]:
    """The groups managers added, one line each, as written."""
    try:
        return _lines(added_path().read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []


def add_line(line: str) -> tuple[str, ...]:
    """Check a line of synonyms and add it to the managers' list; SynonymError if unusable."""
    members = parse_synonym_line(line)
    path = added_path()
    with file_lock(path.with_suffix(".lock")):  # two managers adding at once both keep their line
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = HEADER
        written = {frozenset(parse_synonym_line(x)) for x in _lines(text) if _parses(x)}
        if frozenset(members) not in written:  # a second press of the button adds nothing
            text += "" if text.endswith("\n") else "\n"
            atomic_write(path, (text + ", ".join(members) + "\n").encode("utf-8"))
    return members
