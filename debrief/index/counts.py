"""Counting entries by their header columns in SQL, for the dashboard (no per-entry Python pass)."""

# SQL text here is assembled only from module constants, column names chosen in code and "?"
# placeholders; every value that comes from a user is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Sequence

from debrief.index.database import Database, state

_MAIN = "substr({0}, 1, instr({0} || ',', ',') - 1)"  # up to the first comma
# The groupable columns of count_by: name -> SQL expression (constants only).
COUNT_COLUMNS = {
    "month": "substr(date, 1, 7)",
    "kind": "kind",
    "rep": "rep",
    "competitor": "competitor",
    "themes": "themes",
    "prospect_reasons": "prospect_reasons",
    "rep_reasons": "rep_reasons",
    "buyer_main": _MAIN.format("prospect_reasons"),  # the first listed reason is the main one
    "rep_main": _MAIN.format("rep_reasons"),
}


def id_range(db: Database) -> tuple[str, int, int]:
    """(generation, largest id, number of entries) in one snapshot, for incremental counts.

    Ids only grow (AUTOINCREMENT) until a rebuild, which changes the generation: counts kept
    for ids <= largest stay right while the entry count is theirs plus the rows added since.
    """
    with db.read() as conn:
        generation, _ = state(conn)
        top, count = conn.execute("SELECT max(id), count(*) FROM entry").fetchone()
    return generation, top or 0, count


def count_by(
    db: Database,
    columns: Sequence[str],
    *,
    date_from: str | None = None,
    date_to: str | None = None,
    kind: str | None = None,
    reps: Sequence[str] | None = None,
    marks: Sequence[str] = (),
    group: bool = True,
    ids: tuple[int, int] | None = None,
) -> list[tuple]:
    """(values of the columns..., [how many marks lie before the date,] entries) per group.

    columns are names of COUNT_COLUMNS; reps=None means any rep (an empty list matches none);
    dates inclusive. group=False returns the matching rows' values ungrouped (no count): when
    the groups are nearly as many as the rows, SQLite's sort for GROUP BY costs more than a
    Counter over the fetched columns. ids=(low, high): only low < id <= high.
    """
    if reps is not None and not reps:
        return []
    exprs = [COUNT_COLUMNS[name] for name in columns]  # KeyError: not a known column
    params: list = []
    if marks:
        exprs.append(" + ".join(["(date > ?)"] * len(marks)))
        params.extend(marks)
    where, values = _conditions(date_from, date_to, kind, reps, ids)
    params.extend(values)
    # NOT INDEXED: one sequential scan; through entry_rep or entry_kind the planner visits
    # rows in index order with a random lookup each, several times slower. A bare
    # count may use the indexes: entry_date covers a date range without reading rows.
    source = "entry NOT INDEXED" if exprs else "entry"
    sql = f"SELECT {', '.join([*exprs, 'count(*)'] if group else exprs)} FROM {source}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    if group and exprs:
        sql += " GROUP BY " + ", ".join(str(i) for i in range(1, len(exprs) + 1))
    with db.read() as conn:
        return conn.execute(sql, params).fetchall()


def _conditions(
    date_from: str | None,
    date_to: str | None,
    kind: str | None,
    reps: Sequence[str] | None,
    ids: tuple[int, int] | None,
) -> tuple[list[str], list]:
    """The WHERE conditions of count_by and their parameters."""
    low, high = ids if ids is not None else (None, None)
    pairs = [
        ("date >= ?", date_from),
        ("date <= ?", date_to),
        ("kind = ?", kind),
        ("id > ?", low),
        ("id <= ?", high),
    ]
    where = [sql for sql, value in pairs if value is not None]
    params = [value for _, value in pairs if value is not None]
    if reps is not None:
        where.append(f"rep IN ({', '.join('?' * len(reps))})")
        params.extend(reps)
    return where, params
