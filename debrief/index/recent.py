"""The newest entries' own full-text tables, which bound the work of a broad search.

A search whose words are in a large share of the entries costs FTS5 time in proportion to the
whole index: BM25 weighs each phrase by reading its whole list of rows, and a prefix (the last
word as it is being typed) merges the lists of every word it starts in each statement. Such a
search ranks only its newest matches (search.RANK_POOL) and estimates its facets from a sample
of them (search.RECENT_SAMPLE here), so it can find those among the newest entries: fts_recent
and fts_recent_exact hold the same text as fts and fts_exact for the rows from the state's
`recent_low` id up (about KEEP of them), and cost time in proportion to that number.

Invariant (kept by writes.py in the write transaction): the recent tables hold exactly the fts
rows whose id is `recent_low` or more. New rows always have the largest ids, so they go in;
trim() raises `recent_low` in steps of STEP rows, taking the oldest out.
"""

# SQL text here is assembled only from module constants; values are bound parameters.
# ruff: noqa: S608

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from debrief.index.database import fts_forget, fts_insert

KEEP = 10_000  # rows of the newest ids kept (ids of removed entries count: they leave gaps)
STEP = 1_000  # trimmed when KEEP + STEP ids are held: a write in STEP takes STEP rows out


@dataclass(frozen=True)
class Tables:
    """A porter table and its words-as-typed twin, searched together (search.tier_scores)."""

    forms: str
    exact: str

    @property
    def bm25(self) -> str:
        """BM25 over the forms table: title, body, competitor, reasons, themes weighted."""
        return f"bm25({self.forms}, 10.0, 1.0, 4.0, 2.0, 2.0)"


MAIN = Tables("fts", "fts_exact")
RECENT = Tables("fts_recent", "fts_recent_exact")


def low(conn: sqlite3.Connection) -> int:
    """The smallest id the recent tables hold (1: they hold every row, the same as fts)."""
    row = conn.execute("SELECT value FROM state WHERE key = 'recent_low'").fetchone()
    return int(row[0]) if row else 1


def tables_for(conn: sqlite3.Connection, ids: list[int]) -> Tables:
    """RECENT when every id is among the recent rows and they are not the whole index."""
    floor = low(conn)
    return RECENT if ids and floor > 1 and min(ids) >= floor else MAIN


def start(conn: sqlite3.Connection, rows: int) -> None:
    """For a rebuild inserting ids 1..rows into empty tables: only the newest KEEP go in."""
    conn.execute(
        "INSERT OR REPLACE INTO state (key, value) VALUES ('recent_low', ?)",
        (max(1, rows - KEEP + 1),),
    )


def insert(conn: sqlite3.Connection, values: list[tuple]) -> None:
    """The fts values (rowid first) of new rows: those at or above recent_low go in too."""
    floor = low(conn)
    kept = [v for v in values if v[0] >= floor]
    for table in (RECENT.forms, RECENT.exact):
        conn.executemany(fts_insert(table), kept)


def delete(conn: sqlite3.Connection, first: int, last: int) -> None:
    """Take the fts rows with ids first..last out of the recent tables (before fts loses them:
    fts_recent reads its text from fts, fts_recent_exact has none)."""
    first = max(first, low(conn))
    if first <= last:
        for table in (RECENT.forms, RECENT.exact):
            fts_forget(conn, table, first, last)


def trim(conn: sqlite3.Connection) -> None:
    """Raise recent_low to keep about KEEP ids, once KEEP + STEP are held."""
    top = conn.execute("SELECT max(id) FROM entry").fetchone()[0] or 0
    floor = low(conn)
    if top - floor + 1 < KEEP + STEP:
        return
    new_low = top - KEEP + 1
    delete(conn, floor, new_low - 1)
    conn.execute("UPDATE state SET value = ? WHERE key = 'recent_low'", (new_low,))
