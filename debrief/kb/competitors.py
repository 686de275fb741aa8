"""Competitor names as people typed them, for the pages: an entry's header keeps only the
competitor's slug ("rivalry-crm"), while the deals and answers keep "Rivalry CRM".

The spellings are counted per store shard, and a running total is kept per table: a write
recounts only the shard it changed (500 records) and moves the total by the difference, so
the cost of a new deal does not grow with the history. The most frequent spelling wins. The
per-shard counts are saved in <DATA_DIR>/cache/ (derived data), so a restarted app counts only
the shards changed since, not every deal and answer on its first /kb page (a start and its first
request stay quick at any size).
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import orjson

from debrief import derived
from debrief.entries import clean_header_value, slugify
from debrief.store import Store

CACHE_FILE = "competitor_names.json"
FORMAT = 1
# Saved after a count of this many shards (a start, an import), not after each write: one
# shard is recounted for less than the file costs to write, and a restart recounts it anyway.
SAVE_AFTER = 4

TABLES = ("deals", "answers")  # where a competitor is written as typed (the rep's, the buyer's)

Pairs = Counter[tuple[str, str]]  # (slug, spelling) -> how often typed


class _Tally:
    """One table's spellings: each shard's counts with the stamp they were made at, and the sum."""

    def __init__(self) -> None:
        self.shards: dict[int, tuple[Any, Pairs]] = {}
        self.total: Pairs = Counter()


_lock = threading.Lock()  # tallies are read-modify-write
_tallies: dict[tuple[Path, str], _Tally] = {}
_names: dict[Path, tuple[tuple[int, ...], tuple[int, dict[str, str]]]] = {}
_generations = itertools.count(1)


def names(store: Store, cache_dir: Path) -> tuple[int, dict[str, str]]:
    """(generation, slug -> name as typed); the generation moves only when a name changes."""
    versions = tuple(store.table(t).version() for t in TABLES)
    kept = _names.get(store.root)
    if kept is not None and kept[0] == versions:
        return kept[1]
    with _lock:
        if not any((store.root, t) in _tallies for t in TABLES):
            _load(store, cache_dir / CACHE_FILE)
        recounted = sum(_update(store, table) for table in TABLES)
        total: Pairs = Counter()
        for table in TABLES:
            total.update(_tallies[store.root, table].total)
        if recounted >= SAVE_AFTER:
            _save(store, cache_dir / CACHE_FILE)
    best: dict[str, tuple[int, str]] = {}
    for (slug, typed), n in total.items():
        if n > 0 and (slug not in best or n > best[slug][0]):
            best[slug] = (n, typed)
    current = {slug: typed for slug, (_n, typed) in best.items()}
    if kept is not None and kept[1][1] == current:
        result = kept[1]  # a write that changed no name keeps the labelled HTML cached
    else:
        result = (next(_generations), current)
    _names[store.root] = (versions, result)
    return result


def _update(store: Store, name: str) -> int:
    """Bring a table's tally up to date shard by shard (under _lock): how many shards changed."""
    table = store.table(name)
    tally = _tallies.setdefault((store.root, name), _Tally())
    stamps = table.shards()
    gone = set(tally.shards) - set(stamps)
    for number in gone:
        tally.total.subtract(tally.shards.pop(number)[1])
    changed = len(gone)
    for number, stamp in stamps.items():
        old = tally.shards.get(number)
        if old is None or old[0] != stamp:
            counted = _count(table.shard(number))
            if old is not None:
                tally.total.subtract(old[1])
            tally.total.update(counted)
            tally.shards[number] = (stamp, counted)
            changed += 1
    return changed


def _load(store: Store, path: Path) -> None:
    """The tallies saved by an earlier process (nothing when missing or not ours)."""
    try:
        data = orjson.loads(path.read_bytes())
        if data.get("format") != FORMAT:
            return
        for name in TABLES:
            tally = _Tally()
            for number, (stamp, rows) in data[name].items():
                counted: Pairs = Counter({(slug, typed): n for slug, typed, n in rows})
                # JSON turns the stamp's tuple into a list; Table.shards() gives tuples.
                tally.shards[int(number)] = (tuple(stamp) if stamp else stamp, counted)
                tally.total.update(counted)
            _tallies[store.root, name] = tally
    except (OSError, orjson.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError):
        return


def _save(store: Store, path: Path) -> None:
    """Write the tallies for the next process (no fsync: derived data, counted again if lost)."""
    data: dict[str, Any] = {"format": FORMAT}
    for name in TABLES:
        shards = _tallies[store.root, name].shards
        data[name] = {
            str(number): [stamp, [[slug, typed, n] for (slug, typed), n in counted.items()]]
            for number, (stamp, counted) in shards.items()
        }
    derived.save(path, data, "competitor names")


def _count(records: list[dict[str, Any]]) -> Pairs:
    """How often each spelling of each competitor was typed, over some records."""
    out: Pairs = Counter()
    for record in records:
        typed = clean_header_value(record.get("competitor") or "")
        slug = slugify(typed) if typed else ""
        if slug:
            out[slug, typed] += 1
    return out
