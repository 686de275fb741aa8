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


def added_lines() -> list[str]:
    """The groups managers added, one line each, as written."""
    try:
        text = added_path().read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def add_line(line: str) -> tuple[str, ...]:
    """Check a line of synonyms and add it to the managers' list; SynonymError if unusable."""
    members = parse_synonym_line(line)
    path = added_path()
    with file_lock(path.with_suffix(".lock")):  # two managers adding at once both keep their line
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = HEADER
        if not text.endswith("\n"):
            text += "\n"
        atomic_write(path, (text + ", ".join(members) + "\n").encode("utf-8"))
    return members
