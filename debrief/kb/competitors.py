"""Competitor names as people typed them, for the pages: an entry's header keeps only the
competitor's slug ("rivalry-crm"), while the deals and answers keep "Rivalry CRM".

The names are counted per store shard and kept with the shard's stamp, so a new deal recounts
its own shard (500 records), not the whole history; the most frequent spelling of a slug wins.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from debrief.entries import clean_header_value, slugify
from debrief.lru import LRU
from debrief.store import Store

TABLES = ("deals", "answers")  # where a competitor is written as typed (the rep's, the buyer's)

_shards = LRU(4096)  # (root, table, shard) -> (the shard's stamp, slug -> Counter of names)
_names: dict[Path, tuple[tuple[int, ...], tuple[int, dict[str, str]]]] = {}
_generations = itertools.count(1)


def names(store: Store) -> tuple[int, dict[str, str]]:
    """(generation, slug -> name as typed); the generation moves only when a name changes."""
    versions = tuple(store.table(t).version() for t in TABLES)
    kept = _names.get(store.root)
    if kept is not None and kept[0] == versions:
        return kept[1]
    counts: dict[str, Counter[str]] = {}
    for name in TABLES:
        for slug, spellings in _table_counts(store, name):
            counts.setdefault(slug, Counter()).update(spellings)
    current = {slug: spellings.most_common(1)[0][0] for slug, spellings in counts.items()}
    if kept is not None and kept[1][1] == current:
        result = kept[1]  # a write that changed no name keeps the labelled HTML cached
    else:
        result = (next(_generations), current)
    _names[store.root] = (versions, result)
    return result


def _table_counts(store: Store, name: str) -> Iterable[tuple[str, Counter[str]]]:
    """(slug, spellings) of every shard of a table, each shard counted again only if changed."""
    table = store.table(name)
    for number, stamp in table.shards().items():
        key = (store.root, name, number)
        kept = _shards.get(key)
        if kept is None or kept[0] != stamp:
            kept = (stamp, _count(table.shard(number)))
            _shards.put(key, kept)
        yield from kept[1].items()


def _count(records: list[dict[str, Any]]) -> dict[str, Counter[str]]:
    """slug -> how often each spelling of it was typed, over some records."""
    out: dict[str, Counter[str]] = {}
    for record in records:
        typed = clean_header_value(record.get("competitor") or "")
        slug = slugify(typed) if typed else ""
        if slug:
            out.setdefault(slug, Counter())[typed] += 1
    return out
