"""The dashboard's store-side inputs, derived per store shard, kept in memory and in a cache file.

The invitation funnel needs three facts per invitation (its deal, the day it was sent, how far it
got) and one per deal (its rep); the value lost needs a deal's day lost, value and competitor,
and its answer's main reason and the vendor the buyer named. Reading them through Table.all()
parses every shard of every invitation and deal, far more than a dashboard view can spend. So
the facts are derived one shard at a time, keyed by the shard file's stamp (inode, size, mtime),
kept in this process and saved to <DATA_DIR>/cache/funnel.json for the next one. After a change
only the changed shards are parsed again. The file is
derived data: a missing, torn or foreign one is ignored and rebuilt from the store.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import orjson

from debrief import derived
from debrief.store import Record, Store
from debrief.themes import funnel_stats

CACHE_FILE = Path("cache") / "funnel.json"
FORMAT = 3  # bump when the derived rows change shape: an older file is then ignored

# shard number -> (file stamp, derived columns). Columns, not rows: a third fewer objects to
# parse from the file and to keep in memory.
Shards = dict[int, tuple[tuple | None, list[list]]]


def invitation_columns(records: list[Record]) -> list[list]:
    """[deal ids, days sent, stages reached] of the invitations that were sent."""
    columns: list[list] = [[], [], []]
    for record in records:
        day = funnel_stats.sent_day(record)
        if day is not None:
            columns[0].append(record.get("deal_id"))
            columns[1].append(day)
            columns[2].append(funnel_stats.stage(record))
    return columns


def lost_day(deal: Record) -> str:
    """The day a deal was lost (YYYY-MM-DD): its lost date, else the day it was recorded."""
    return deal.get("lost_on") or (deal.get("created") or "")[:10]


def deal_columns(records: list[Record]) -> list[list]:
    """[deal ids, their reps' user ids, days lost, values (None: not given), competitors]."""
    return [
        [record["id"] for record in records],
        [record.get("rep_id") for record in records],
        [lost_day(record) for record in records],
        [record.get("value") for record in records],
        [record.get("competitor") for record in records],
    ]


def answer_columns(records: list[Record]) -> list[list]:
    """[deal ids, the buyers' main reasons, the vendors they named (None: none)]."""
    return [
        [record.get("deal_id") for record in records],
        [record.get("reason") for record in records],
        [record.get("competitor") for record in records],
    ]


DERIVE: dict[str, Callable[[list[Record]], list[list]]] = {
    "invitations": invitation_columns,
    "deals": deal_columns,
    "answers": answer_columns,
}
_lock = threading.Lock()


def _stamp(value: object) -> tuple | None:
    """A stamp as compared with Table.shards() (JSON turns tuples into lists)."""
    return tuple(value) if isinstance(value, list) else None


def _load(path: Path) -> dict[str, Shards]:
    """The saved cache, or an empty one when the file is missing or not ours."""
    try:
        data = orjson.loads(path.read_bytes())
        if data.get("format") != FORMAT:
            return {}
        return {
            table: {int(n): (_stamp(stamp), rows) for n, (stamp, rows) in data[table].items()}
            for table in DERIVE
        }
    except (OSError, orjson.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError):
        return {}


def _save(path: Path, cache: dict[str, Shards]) -> None:
    """Write the cache through a temporary file and an atomic rename (no fsync: derived data)."""
    data = {"format": FORMAT, **{t: {str(n): v for n, v in s.items()} for t, s in cache.items()}}
    derived.save(path, data, "funnel cache")  # the next process counts again


def stamps(store: Store) -> dict[str, dict[int, tuple | None]]:
    """Table -> shard number -> file stamp, for every table the funnel reads."""
    return {table: store.table(table).shards() for table in DERIVE}


def inputs(
    store: Store, data_dir: str | Path, memory: dict, now: dict | None = None
) -> tuple[list[list], list[list], list[list]]:
    """(invitation, deal, answer columns) as now, parsing only the shards changed since last time.

    memory: where this app keeps the cache between calls (an empty dict the first time).
    now: the tables' stamps() if the caller has just read them.
    """
    path = Path(data_dir) / CACHE_FILE
    with _lock:
        cache = memory.get(str(path))
        if cache is None:
            cache = memory[str(path)] = _load(path)
        changed = False
        out = []
        for table, derive in DERIVE.items():
            kept = cache.setdefault(table, {})
            shards = now[table] if now is not None else store.table(table).shards()
            for gone in [n for n in kept if n not in shards]:
                del kept[gone]
                changed = True
            for n, stamp in shards.items():
                hit = kept.get(n)
                if hit is None or hit[0] != stamp:
                    kept[n] = (stamp, derive(store.table(table).shard(n)))
                    changed = True
            columns: list[list] = [[] for _ in kept[min(kept)][1]] if kept else []
            for n in sorted(kept):
                for whole, part in zip(columns, kept[n][1], strict=True):
                    whole.extend(part)
            out.append(columns)
        if changed:
            _save(path, cache)
    return out[0], out[1], out[2]
