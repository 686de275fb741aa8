"""Keeping the index up with the files: plan (scan against rows), apply (parse, write), record.

A sync reads the index before each folder: an entry another process adds in between is then
merely re-added, never mistaken for a deleted file. Its plan holds row ids, which a rebuild
numbers anew: a plan is applied only while the index's generation is the one it was made in.

A rebuild reads every file without holding the write lock (minutes at scale, while the other
workers keep writing answers): before it replaces the rows, catch_up() reads again, under the
lock, the files other processes wrote or removed meanwhile (mark() is where it started).
"""

# SQL text here is assembled only from module constants and "?" placeholders.
# ruff: noqa: S608

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from debrief import files
from debrief.entries import Entry, EntryError, parse_entry
from debrief.index import writes
from debrief.index.database import Database, state

BATCH = 2000  # rows per write transaction in sync: keeps other writers' waits short
# A row of _rows_in(): (id << _ID_SHIFT) | _packed(mtime_ns, size); _STAT its low bits.
_ID_SHIFT = 112
_STAT = 2**_ID_SHIFT - 1


@dataclass
class Plan:
    """What a sync has to do: the files to read again and the rows and problems now gone."""

    scope: list[str] | None  # the folders looked at (None: the whole tree)
    generation: str  # the index's generation when planned (a rebuild renumbers the rows)
    stats: dict[str, tuple[int, int]] = field(default_factory=dict)  # todo's (mtime_ns, size)
    folders: dict[str, int] = field(default_factory=dict)  # every folder found -> mtime_ns
    known: dict[str, int] = field(default_factory=dict)  # todo's and gone's entry ids
    todo: list[str] = field(default_factory=list)  # new or changed files, to parse
    gone: list[str] = field(default_factory=list)  # indexed files no longer there
    gone_broken: list[str] = field(default_factory=list)  # problem files no longer there


def plan(conn: sqlite3.Connection, root: Path, within: list[str] | None) -> Plan:
    """Compare the files under `within` (None or ".": every file) with the index's rows.

    Folder by folder, so what is held at once is one folder's files and rows, not the whole
    tree's (a full sync runs every FULL_SYNC_EVERY seconds in some worker). Each folder's rows
    are read before the folder is listed: an entry another process adds in between is then
    merely re-added, never mistaken for a deleted file.
    """
    scope = None if within is None or "." in within else _outermost(within)
    generation, _ = state(conn)
    last_id = conn.execute("SELECT max(id) FROM entry").fetchone()[0] or 0
    todo = Plan(scope=scope, generation=generation)
    stack = list(scope or ["."])
    while stack:
        rel = stack.pop()
        known, broken = _rows_in(conn, rel)
        found = files.list_folder(root, rel)
        if found is None:
            continue  # gone meanwhile: its rows are looked at below
        rel_folder, mtime, stats, subfolders = found
        todo.folders[rel_folder] = mtime
        stack += subfolders
        for path, stat in stats.items():
            if _changed(known, broken, path, stat):
                todo.todo.append(path)
                todo.stats[path] = stat
                if path in known:
                    todo.known[path] = known[path] >> _ID_SHIFT
        for path, row in known.items():
            if path not in stats:
                todo.gone.append(path)
                todo.known[path] = row >> _ID_SHIFT
        todo.gone_broken += [p for p in broken if p not in stats]
    _gone_folders(conn, todo, last_id)
    todo.todo.sort()
    todo.gone.sort()
    return todo


def _rows_in(conn: sqlite3.Connection, folder: str) -> tuple[dict[str, int], dict[str, tuple]]:
    """The index's entry rows (path -> id and stat as one int, see _packed) and problem rows
    (path -> (mtime_ns, size)) of the files directly in one folder.

    One int, not a tuple of three: a folder can hold a year of a large team's entries (the
    memory this saves: BENCHMARKS.md, step 9), and the full sync runs in every worker in turn."""
    if folder == ".":
        where, params = "instr(path, '/') = 0", ()
    else:
        # "/" sorts just before "0": the paths under "2024/" are those >= "2024/" and < "20240".
        where = "path >= ? AND path < ? AND instr(substr(path, ?), '/') = 0"
        params = (f"{folder}/", f"{folder}0", len(folder) + 2)
    rows = conn.execute(f"SELECT path, id, mtime_ns, size FROM entry WHERE {where}", params)
    known = {p: (i << _ID_SHIFT) | _packed(m, z) for p, i, m, z in rows}
    rows = conn.execute(f"SELECT path, mtime_ns, size FROM problem WHERE {where}", params)
    return known, {p: (m, z) for p, m, z in rows}


def _gone_folders(conn: sqlite3.Connection, todo: Plan, last_id: int) -> None:
    """Add to the plan the rows of folders the walk did not find (removed, or outside the
    tree). Only rows older than the walk (id <= last_id): a folder made while it ran holds
    files another process has just written, not gone ones."""
    for where, params in _path_ranges(todo.scope):
        rows = conn.execute(f"SELECT path, id FROM entry WHERE {where} AND id <= ?",
                            (*params, last_id))  # fmt: skip
        for path, entry_id in rows:
            if _folder(path) not in todo.folders:
                todo.gone.append(path)
                todo.known[path] = entry_id
        rows = conn.execute(f"SELECT path FROM problem WHERE {where}", params)
        todo.gone_broken += [p for (p,) in rows if _folder(p) not in todo.folders]


def _folder(path: str) -> str:
    """The relative folder of a stored path ("." for the top of the tree)."""
    return path.rpartition("/")[0] or "."


def _packed(mtime_ns: int, size: int) -> int:
    """A file's stat as one int below 2**_ID_SHIFT: equal exactly when both parts are (an
    mtime within 2**63 ns of 1970, a size below 2**48 bytes; a row's -1 stays unequal)."""
    return ((mtime_ns & (2**64 - 1)) << 48) | (size & (2**48 - 1))


def _changed(known: dict, broken: dict, path: str, stat: tuple[int, int]) -> bool:
    """Whether a file is new, or not as it was when indexed (or recorded as a problem)."""
    if path in known:
        return known[path] & _STAT != _packed(*stat)
    return path not in broken or broken[path] != stat


def apply(
    db: Database, root: Path, todo: Plan, themes: frozenset[str] = frozenset()
) -> tuple[int, int, int]:
    """Delete what is gone, parse and write what changed, in batches: (added, changed, removed).

    themes: the themes that exist (writes.row_values). Nothing more is written once the index
    was rebuilt since the plan (its row ids are another index's): the rebuild read the files."""
    added = changed = removed = 0
    if todo.gone or todo.gone_broken:
        with db.write() as conn:
            if state(conn)[0] != todo.generation:
                return added, changed, removed
            for path in todo.gone:
                writes.delete_id(conn, todo.known[path])
            conn.executemany("DELETE FROM problem WHERE path = ?", [(p,) for p in todo.gone_broken])
    removed += len(todo.gone)
    for start in range(0, len(todo.todo), BATCH):
        parsed = [(rel, parse_or_error(root, rel, todo.stats[rel][0]))
                  for rel in todo.todo[start : start + BATCH]]  # fmt: skip
        with db.write() as conn:
            if state(conn)[0] != todo.generation:
                return added, changed, removed
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
        if state(conn)[0] != done.generation:
            return  # a rebuild since the plan recorded its own
        for start in done.scope or ["."]:
            if start == ".":
                conn.execute("DELETE FROM folder")
            else:
                conn.execute("DELETE FROM folder WHERE path = ? OR (path >= ? AND path < ?)",
                             (start, start + "/", start + "0"))  # fmt: skip
        conn.executemany(
            "INSERT OR REPLACE INTO folder (path, mtime_ns) VALUES (?, ?)", done.folders.items()
        )


@dataclass(frozen=True)
class Mark:
    """Where a rebuild started: the index's last row id then, and the files it had rows for."""

    last_id: int
    paths: frozenset[str]


def mark(conn: sqlite3.Connection) -> Mark:
    """The index as a rebuild starts reading the files (before the first file is looked at)."""
    try:
        with_ids = conn.execute("SELECT path, id FROM entry").fetchall()
    except sqlite3.OperationalError:
        return Mark(0, frozenset())  # no entry table yet: an index being made
    return Mark(max((i for _, i in with_ids), default=0), frozenset(p for p, _ in with_ids))


def catch_up(
    conn: sqlite3.Connection,
    root: Path,
    since: Mark,
    rows: list[dict],
    problems: list[tuple[str, str, int, int]],
    themes: frozenset[str] = frozenset(),
) -> tuple[list[dict], list[tuple[str, str, int, int]]]:
    """A rebuild's rows and problems (reading.read_all), brought up to the writes made since
    `since`.

    Called holding the write lock, so nothing else writes: a file whose row is newer than the
    mark (every write gives its row a new id; AUTOINCREMENT never reuses one) or whose row went
    away since is read again now. A file changed by hand meanwhile is left to the staleness
    check, as ever: the folder mtimes recorded are those the rebuild's scan saw.
    """
    try:
        now = conn.execute("SELECT path, id FROM entry").fetchall()
    except sqlite3.OperationalError:
        return rows, problems  # no entry table (the index file was deleted): nobody wrote
    touched = {p for p, i in now if i > since.last_id} | (since.paths - {p for p, _ in now})
    if not touched:
        return rows, problems
    rows = [r for r in rows if r["path"] not in touched]
    problems = [p for p in problems if p[0] not in touched]
    owner = {r["slug"]: r["path"] for r in rows}
    for rel in sorted(touched):
        try:
            st = (root / rel).stat()
        except OSError:
            continue  # removed meanwhile
        result = parse_or_error(root, rel, st.st_mtime_ns)
        if isinstance(result, Entry) and owner.get(result.slug, rel) != rel:
            result = EntryError(root / rel, f"duplicate slug {result.slug!r}: {owner[result.slug]}")
        if isinstance(result, EntryError):
            problems.append((rel, result.reason, st.st_mtime_ns, st.st_size))
        else:
            owner[result.slug] = rel
            rows.append(writes.row_values(result, rel, st.st_mtime_ns, st.st_size, themes))
    return rows, problems


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
