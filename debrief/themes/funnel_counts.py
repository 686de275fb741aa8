"""The invitation funnel counted per (month sent, rep, stage), kept until a deal or invitation
changes, and saved in <DATA_DIR>/cache/funnel_counts.json for the next process.

Counting 25k sent invitations at 50k deals is one Python pass of ~30 ms, after ~20 ms to load
its inputs (funnel.py): a quarter of the dashboard's 200 ms (SPEC 4). It was paid on every
recomputed dashboard, also when only an entry was added, and on the first view of every new
process. The counts hold a few hundred groups; they apply while every shard file of deals and
invitations has the stamp they were counted at. The file is derived data: a missing, torn or
foreign one is ignored and written again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import threading
from collections import Counter
from pathlib import Path

import orjson

from debrief.store import Store
from debrief.themes import funnel

log = logging.getLogger(__name__)

CACHE_FILE = Path("cache") / "funnel_counts.json"
FORMAT = 1  # bump when the saved shape changes: an older file is then ignored
KEEP = 8  # date ranges kept per data state
_MEMORY = "counts"  # the key of these counts in the app's funnel memory (beside funnel.py's)

Range = tuple[str, str]  # (first day, last day), inclusive
_lock = threading.Lock()


def fingerprint(now: dict[str, dict[int, tuple | None]]) -> str:
    """A short digest of every shard stamp of the funnel's tables."""
    flat = [[table, sorted(shards.items())] for table, shards in sorted(now.items())]
    return hashlib.blake2b(orjson.dumps(flat), digest_size=16).hexdigest()


def count(invitations: list[list], deals: list[list], start: str, end: str) -> Counter:
    """(month sent, rep's user id, stage reached) -> invitations sent from start to end."""
    rep_ids = dict(zip(*deals, strict=True)) if deals else {}
    if not invitations:
        return Counter()
    # The date filter is applied here, so the groups are per month (~900), not per day (~22k).
    return Counter(
        (day[:7], rep_ids.get(deal), reached)
        for deal, day, reached in zip(*invitations, strict=True)
        if start <= day <= end
    )


def _load(path: Path) -> tuple[str, dict[Range, Counter]]:
    """(fingerprint, counts per range) from the file, or ("", {}) when missing or not ours."""
    try:
        data = orjson.loads(path.read_bytes())
        if data.get("format") != FORMAT or not isinstance(data["stamp"], str):
            return "", {}
        out: dict[Range, Counter] = {}
        for start, end, rows in data["counts"]:
            counter = Counter({(m, r, s): n for m, r, s, n in rows})
            months, reps, stages = zip(*counter, strict=True) if counter else ((), (), ())
            if not (
                set(map(type, months)) <= {str}
                and set(map(type, reps)) <= {int, str, type(None)}
                and set(map(type, stages)) <= {int}
                and set(map(type, counter.values())) <= {int}
                and isinstance(start, str)
                and isinstance(end, str)
            ):
                return "", {}
            out[(start, end)] = counter
        return data["stamp"], out
    except (OSError, orjson.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError):
        return "", {}


def _save(path: Path, stamp: str, counts: dict[Range, Counter]) -> None:
    """Write the counts through a temporary file and an atomic rename (no fsync: derived)."""
    rows = [[s, e, [[*key, n] for key, n in c.items()]] for (s, e), c in counts.items()]
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(orjson.dumps({"format": FORMAT, "stamp": stamp, "counts": rows}))
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        log.warning("funnel counts not saved: %s", exc)  # the next process counts again


def sent_counts(store: Store, data_dir: str | Path, memory: dict, start: str, end: str) -> Counter:
    """The funnel counts for the range: kept, saved by an earlier process, or counted now.

    memory: where this app keeps its funnel caches between calls (an empty dict the first time).
    """
    now = funnel.stamps(store)
    stamp = fingerprint(now)
    path = Path(data_dir) / CACHE_FILE
    with _lock:
        kept = memory.get(_MEMORY)
        if kept is None or kept[0] != stamp:
            saved = _load(path)
            kept = memory[_MEMORY] = saved if saved[0] == stamp else (stamp, {})
        found = kept[1].get((start, end))
    if found is not None:
        return found
    invitations, deals = funnel.inputs(store, data_dir, memory, now)
    counted = count(invitations, deals, start, end)
    with _lock:
        if memory[_MEMORY][0] == stamp:  # no other thread moved on to newer data meanwhile
            ranges = memory[_MEMORY][1]
            ranges[(start, end)] = counted
            while len(ranges) > KEEP:
                del ranges[next(iter(ranges))]
            _save(path, stamp, ranges)
    return counted
