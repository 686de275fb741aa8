"""Writing the index's rows: one entry's values, upsert and delete, bulk inserts, folders."""

# SQL text here is assembled only from module constants and column names chosen in code;
# every value from a file is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from debrief.entries import Entry, plain_text
from debrief.index import recent
from debrief.index.database import fts_forget, fts_insert
from debrief.index.results import strip_marks

# The entry columns that, with the fts body, make a re-added entry the same as its indexed row.
_SAME = ("path", "mtime_ns", "size", "title", "date", "kind", "rep", "competitor", "outcome",
         "themes", "prospect_reasons", "rep_reasons", "trust", "deal")  # fmt: skip
_INSERT_ENTRY = (
    "INSERT INTO entry (id, slug, path, mtime_ns, size, title, date, kind, rep, competitor,"
    " outcome, themes, prospect_reasons, rep_reasons, trust, deal) VALUES (:id, :slug, :path,"
    " :mtime_ns, :size, :title, :date, :kind, :rep, :competitor, :outcome, :themes,"
    " :prospect_reasons, :rep_reasons, :trust, :deal)"
)
# fts holds the words' forms (porter), fts_exact the words as typed: the same text in both.
_INSERT_FTS = [fts_insert(table) for table in ("fts", "fts_exact")]


def row_values(
    entry: Entry, rel_path: str, mtime_ns: int, size: int, themes: frozenset[str] = frozenset()
) -> dict:
    """The entry as the named parameters of the entry, fts and tag inserts.

    themes: the themes that exist; a hand-written file's tag naming one counts as that theme
    (SPEC 2.4), the others stay tags (searchable, and kept as "tag" rows to find them again).
    """
    reasons = list(dict.fromkeys(entry.prospect_reasons + entry.rep_reasons))
    own = entry.themes + [t for t in entry.tags if t in themes and t not in entry.themes]
    # A hand-written file's Deal reference (a CRM id) is searchable like its text.
    text = plain_text(entry.body) + (f"\n\n{entry.reference}" if entry.reference else "")
    return {
        "slug": entry.slug,
        "path": rel_path,
        "mtime_ns": mtime_ns,
        "size": size,
        "title": entry.title,
        "date": entry.date.isoformat(),
        "kind": entry.kind,
        "rep": entry.rep,
        "competitor": entry.competitor,
        "outcome": entry.outcome,
        "themes": ",".join(own),
        "prospect_reasons": ",".join(entry.prospect_reasons),
        "rep_reasons": ",".join(entry.rep_reasons),
        "trust": entry.trust,
        "deal": entry.deal,
        "fts_title": strip_marks(entry.title),
        "fts_body": strip_marks(text),
        "fts_reasons": " ".join(reasons),
        "fts_themes": " ".join(entry.themes + entry.tags),
        "tags": [("theme", t) for t in own]
        + [("reason", r) for r in reasons]
        + [("tag", t) for t in entry.tags],
        "warnings": list(entry.warnings),
    }


def rel_path(root: Path, path: Path) -> str:
    """A path as stored: relative to the entries folder when inside it, with / separators."""
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return Path(path).as_posix()


def file_row(root: Path, entry: Entry, themes: frozenset[str] = frozenset()) -> dict:
    """row_values() of an entry just written, with its file's mtime and size for sync."""
    mtime_ns, size, rel = 0, -1, entry.slug + ".md"
    if entry.path is not None:
        rel = rel_path(root, entry.path)
        try:
            st = os.stat(entry.path)
            mtime_ns, size = st.st_mtime_ns, st.st_size
        except OSError:
            pass  # the next sync sees a different stat and reads the file again
    return row_values(entry, rel, mtime_ns, size, themes)


def upsert(conn: sqlite3.Connection, row: dict) -> None:
    """Insert or replace one entry's rows in entry, fts, entry_tag and warning."""
    old = conn.execute(
        f"SELECT e.id, {', '.join('e.' + c for c in _SAME)}, f.body FROM entry e"
        " JOIN fts f ON f.rowid = e.id WHERE e.slug = ?",
        (row["slug"],),
    ).fetchone()
    if old and old[1:] == (*(row[c] for c in _SAME), row["fts_body"]):
        # Exactly what is indexed (a sync and the entry's writer both adding it): the row
        # keeps its id, so cached rankings need not start over.
        return
    if old:
        delete_id(conn, old[0])
    entry_id = conn.execute(_INSERT_ENTRY, dict(row, id=None)).lastrowid
    insert_rows(conn, [(entry_id, row)])
    recent.trim(conn)
    conn.execute("DELETE FROM problem WHERE path = ?", (row["path"],))


def insert_rows(conn: sqlite3.Connection, rows: list[tuple[int, dict]]) -> None:
    """The fts, tag and warning rows of entries whose entry row (id) is in place."""
    values = [
        (i, r["fts_title"], r["fts_body"], r["competitor"] or "", r["fts_reasons"],
         r["fts_themes"])
        for i, r in rows
    ]  # fmt: skip
    for insert in _INSERT_FTS:
        conn.executemany(insert, values)
    recent.insert(conn, values)
    conn.executemany(
        "INSERT INTO entry_tag (entry_id, facet, value) VALUES (?, ?, ?)",
        [(i, f, v) for i, r in rows for f, v in r["tags"]],
    )
    conn.executemany(
        "INSERT INTO warning (entry_id, message) VALUES (?, ?)",
        [(i, m) for i, r in rows for m in r["warnings"]],
    )


def insert_all(conn: sqlite3.Connection, rows: list[dict]) -> None:
    """Every entry's rows into empty tables, ids 1, 2, ... in the given order (a rebuild)."""
    numbered = list(enumerate(rows, 1))
    recent.start(conn, len(numbered))
    conn.executemany(_INSERT_ENTRY, [dict(row, id=i) for i, row in numbered])
    insert_rows(conn, numbered)


def delete_id(conn: sqlite3.Connection, entry_id: int) -> None:
    """Remove one entry's rows from every table."""
    fts_forget(conn, "fts_exact", entry_id, entry_id)  # while fts still holds the text
    recent.delete(conn, entry_id, entry_id)
    conn.execute("DELETE FROM fts WHERE rowid = ?", (entry_id,))
    conn.execute("DELETE FROM entry_tag WHERE entry_id = ?", (entry_id,))
    conn.execute("DELETE FROM warning WHERE entry_id = ?", (entry_id,))
    conn.execute("DELETE FROM entry WHERE id = ?", (entry_id,))


def record_problem(conn: sqlite3.Connection, rel: str, reason: str, mtime: int, size: int) -> None:
    """Remember a file that cannot be an entry, with its stat (it is read again once changed)."""
    conn.execute(
        "INSERT OR REPLACE INTO problem (path, reason, mtime_ns, size) VALUES (?, ?, ?, ?)",
        (rel, reason, mtime, size),
    )


def record_folders(conn: sqlite3.Connection, root: Path, folder: Path) -> None:
    """Remember the mtime of a folder we just wrote into, and of its parents up to the root.

    So the cheap staleness check (folder mtimes) does not mistake our own writes, or another
    worker's indexed writes, for hand edits. A hand edit in the same instant is caught by the
    periodic full sync.
    """
    root = root.resolve()
    folder = folder.resolve()
    while True:
        try:
            mtime = os.stat(folder).st_mtime_ns
        except OSError:
            return
        key = "." if folder == root else folder.relative_to(root).as_posix()
        conn.execute("INSERT OR REPLACE INTO folder (path, mtime_ns) VALUES (?, ?)", (key, mtime))
        if folder == root or root not in folder.parents:
            return
        folder = folder.parent
