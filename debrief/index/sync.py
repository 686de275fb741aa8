"""Keeping the index up with the files: plan (scan against rows), apply (parse, write), record.

A sync reads the index before the folder: an entry another process adds in between is then
merely re-added, never mistaken for a deleted file.
"""

# SQL text here is assembled only from module constants and "?" placeholders.
# ruff: noqa: S608

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from debrief import files
from debrief.entries import Entry, EntryError, parse_entry
from debrief.index import writes
from debrief.index.database import Database

BATCH = 2000  # rows per write transaction in sync: keeps other writers' waits short


@dataclass
class Plan:
    """What a sync has to do: the files to read again and the rows and problems now gone."""

    scope: list[str] | None  # the folders looked at (None: the whole tree)
    stats: dict[str, tuple[int, int]]  # every file found: relative path -> (mtime_ns, size)
    folders: dict[str, int]  # every folder found: relative path -> mtime_ns
    known: dict[str, int] = field(default_factory=dict)  # indexed path -> entry id
    todo: list[str] = field(default_factory=list)  # new or changed files, to parse
    gone: list[str] = field(default_factory=list)  # indexed files no longer there
    gone_broken: list[str] = field(default_factory=list)  # problem files no longer there


def plan(conn: sqlite3.Connection, root: Path, within: list[str] | None) -> Plan:
    """Compare the files under `within` (None or ".": every file) with the index's rows."""
    scope = None if within is None or "." in within else _outermost(within)
    known: dict[str, tuple] = {}
    broken: dict[str, tuple] = {}
    for where, params in _path_ranges(scope):
        rows = conn.execute(f"SELECT path, id, mtime_ns, size FROM entry WHERE {where}", params)
        known.update({p: (i, m, z) for p, i, m, z in rows})
        rows = conn.execute(f"SELECT path, mtime_ns, size FROM problem WHERE {where}", params)
        broken.update({p: (m, z) for p, m, z in rows})
    stats: dict[str, tuple[int, int]] = {}
    folders: dict[str, int] = {}
    for start in scope or ["."]:
        found_files, found_folders = files.scan(root, start)
        stats.update(found_files)
        folders.update(found_folders)
    return Plan(
        scope=scope,
        stats=stats,
        folders=folders,
        known={p: row[0] for p, row in known.items()},
        todo=sorted(p for p, stat in stats.items() if _changed(known, broken, p, stat)),
        gone=sorted(p for p in known if p not in stats),
        gone_broken=[p for p in broken if p not in stats],
    )


def _changed(known: dict, broken: dict, path: str, stat: tuple[int, int]) -> bool:
    """Whether a file is new, or not as it was when indexed (or recorded as a problem)."""
    if path in known:
        return known[path][1:] != stat
    return path not in broken or broken[path] != stat


def apply(
    db: Database, root: Path, todo: Plan, themes: frozenset[str] = frozenset()
) -> tuple[int, int, int]:
    """Delete what is gone, parse and write what changed, in batches: (added, changed, removed).

    themes: the themes that exist (writes.row_values)."""
    added = changed = removed = 0
    if todo.gone or todo.gone_broken:
        with db.write() as conn:
            for path in todo.gone:
                writes.delete_id(conn, todo.known[path])
            conn.executemany("DELETE FROM problem WHERE path = ?", [(p,) for p in todo.gone_broken])
    removed += len(todo.gone)
    for start in range(0, len(todo.todo), BATCH):
        parsed = [(rel, parse_or_error(root, rel, todo.stats[rel][0]))
                  for rel in todo.todo[start : start + BATCH]]  # fmt: skip
        with db.write() as conn:
            for rel, result in parsed:
                if isinstance(result, Entry):
                    result = _claim_slug(conn, root, rel, result)
                mtime, size = todo.stats[rel]
                if isinstance(result, EntryError):
                    if rel in todo.known:
                        writes.delete_id(conn, todo.known[rel])
                        removed += 1
                    writes.record_problem(conn, rel, result.reason, mtime, size)
                    continue
                writes.upsert(conn, writes.row_values(result, rel, mtime, size, themes))
                if rel in todo.known:
                    changed += 1
                else:
                    added += 1
    return added, changed, removed


def record(db: Database, done: Plan) -> None:
    """Remember the mtimes of the folders looked at, for the cheap staleness check."""
    with db.write() as conn:
        for start in done.scope or ["."]:
            if start == ".":
                conn.execute("DELETE FROM folder")
            else:
                conn.execute("DELETE FROM folder WHERE path = ? OR (path >= ? AND path < ?)",
                             (start, start + "/", start + "0"))  # fmt: skip
        conn.executemany(
            "INSERT OR REPLACE INTO folder (path, mtime_ns) VALUES (?, ?)", done.folders.items()
        )


def read_all(
    root: Path,
    progress: Callable[[int, int], None] | None = None,
    themes: frozenset[str] = frozenset(),
) -> tuple[list[dict], list[tuple[str, str, int, int]], dict[str, int]]:
    """Every file parsed for a rebuild: (entry rows, problems, folder mtimes); themes: the
    themes that exist (writes.row_values)."""
    stats, folders = files.scan(root)
    rows: list[dict] = []
    problems: list[tuple[str, str, int, int]] = []
    seen: dict[str, str] = {}
    order = sorted(stats)
    for done, rel in enumerate(order, 1):
        mtime, size = stats[rel]
        result = parse_or_error(root, rel, mtime)
        if isinstance(result, Entry) and result.slug in seen:
            result = EntryError(rel, f"duplicate slug {result.slug!r}: {seen[result.slug]}")
        if isinstance(result, EntryError):
            problems.append((rel, result.reason, mtime, size))
        else:
            seen[result.slug] = rel
            rows.append(writes.row_values(result, rel, mtime, size, themes))
        if progress and (done % 500 == 0 or done == len(order)):
            progress(done, len(order))
    return rows, problems, folders


def parse_or_error(root: Path, rel: str, mtime_ns: int) -> Entry | EntryError:
    """One file read and parsed by its relative path (mtime_ns: the date of last resort)."""
    path = root / rel
    try:
        return parse_entry(path, path.read_bytes(), mtime_ns)
    except OSError as exc:
        return EntryError(path, f"cannot read: {exc.strerror or exc}")
    except EntryError as exc:
        return exc


def _claim_slug(conn: sqlite3.Connection, root: Path, rel: str, entry: Entry) -> Entry | EntryError:
    """The entry, or an error when another existing file already uses the same slug."""
    row = conn.execute("SELECT path FROM entry WHERE slug = ?", (entry.slug,)).fetchone()
    if row and row[0] != rel and (root / row[0]).is_file():
        return EntryError(root / rel, f"duplicate slug {entry.slug!r}: {row[0]}")
    return entry


def _outermost(folders: list[str]) -> list[str]:
    """The folders that are not inside another of them (a scan goes down into subfolders)."""
    kept: list[str] = []
    for folder in sorted(set(folders)):
        if not any(folder.startswith(k + "/") for k in kept):
            kept.append(folder)
    return kept


def _path_ranges(scope: list[str] | None) -> list[tuple[str, tuple]]:
    """SQL conditions on `path` for the files under each folder of scope (None: every path)."""
    if scope is None:
        return [("1", ())]
    # "/" sorts just before "0": the paths under "2024/" are those >= "2024/" and < "20240".
    return [("path >= ? AND path < ?", (f"{folder}/", f"{folder}0")) for folder in scope]
