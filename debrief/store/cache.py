"""A table's copy of its shards in this process: parsed shards, single records, field indexes.

Reads take no lock: each process keeps the parsed shards in memory and reloads only those whose
file changed, checked cheaply through the state file's counter (state.py).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

from debrief.store.shards import SHARD_SIZE, Record, Stamp, file_stamp, load, read_record, with_id
from debrief.store.state import STATE_BYTES, TableState, version_of

# Parsed shards kept per table, by the size of their files: Python objects take several times
# the JSON, and holding every shard of a large store outgrew a process's memory budget. Beyond
# it the least recently used shard is dropped and parsed again when needed. Field indexes
# (value -> ids) are kept for every shard. A few shards' worth per table (ENGINE-PLAN.md, step 9,
# has their sizes): enough for the shard being written and those of a page's neighbours;
# records looked up at random are kept on their own (POINT_RECORDS).
CACHE_BYTES = 2**20
# Records read one at a time (a deal for its entry page, an invitation for its link) are also
# kept on their own, up to this many per table: pages of recent entries reach deals and answers
# spread over every shard, and parsing a whole shard for one record was most of an entry
# page's CPU. Each is small in memory.
POINT_RECORDS = 2000


def index_key(value: Any) -> Any:
    """A hashable form of a field value for the in-memory indexes."""
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, list):
        return tuple(value)
    return value


class ShardCache(TableState):
    """The cache's side of a Table (its attributes are set and explained in Table.__init__)."""

    _stamps: dict[int, Stamp | None]
    _parsed: OrderedDict[int, tuple[Stamp | None, dict[int, Record]]]
    _parsed_bytes: int
    _points: OrderedDict[int, tuple[Stamp | None, Record]]
    _indexes: dict[str, dict[int, tuple[Stamp | None, dict[Any, int | list[int]]]]]

    def _shard_path(self, shard: int) -> Path:
        """The file of one shard."""
        return self.dir / f"{shard:06d}.json"

    def _cached_parse(self, fd: int, shard: int) -> dict | None:
        """The shard's content as TinyDB would parse it, from the cache when it is current.

        Only under the write lock, and only when no other writer touched this shard since this
        process last looked (the counter has not moved, or the state file's ring of recent
        changes names other shards only): then the cache is the file. With two workers taking
        answers, the other's writes elsewhere no longer cost a re-parse of this shard.
        Records are copied, because TinyDB changes the documents it is given in place.
        """
        raw = os.pread(fd, STATE_BYTES, 0)
        version = version_of(raw)
        with self._mutex:
            cached = self._parsed.get(shard)
            if cached is None or cached[0] != self._stamps.get(shard):
                return None
            if version != self._seen_version:
                changed = self._changed_shards(raw, self._seen_version, version)
                if changed is None or shard in changed:
                    return None
            return {"_default": {str(i): dict(r) for i, r in cached[1].items()}}

    def _keep(self, shard: int, stamp: Stamp | None, records: dict[int, Record]) -> None:
        """Cache one parsed shard, dropping the least recently used beyond CACHE_BYTES."""
        old = self._parsed.pop(shard, None)
        if old is not None:
            self._parsed_bytes -= old[0][1] if old[0] else 0
        self._parsed[shard] = (stamp, records)
        self._parsed_bytes += stamp[1] if stamp else 0
        while self._parsed_bytes > CACHE_BYTES and len(self._parsed) > 1:
            _, (dropped, _) = self._parsed.popitem(last=False)
            self._parsed_bytes -= dropped[1] if dropped else 0

    def _records(self, shard: int) -> dict[int, Record]:
        """One shard's records (call with the mutex held): cached, else parsed now."""
        if shard not in self._stamps:
            return {}
        stamp = self._stamps[shard]
        cached = self._parsed.get(shard)
        if cached is not None and cached[0] == stamp:
            self._parsed.move_to_end(shard)
            return cached[1]
        records = load(self._shard_path(shard))
        self._keep(shard, stamp, records)
        return records

    def _record(self, doc_id: int) -> Record | None:
        """One record (call with the mutex held): cached, else read from its line of the shard."""
        shard = doc_id // SHARD_SIZE
        if shard not in self._stamps:
            return None
        stamp = self._stamps[shard]
        point = self._points.get(doc_id)
        if point is not None and point[0] == stamp:
            self._points.move_to_end(doc_id)
            return point[1]
        parsed = self._parsed.get(shard)
        if parsed is not None and parsed[0] == stamp:
            self._parsed.move_to_end(shard)
            return parsed[1].get(doc_id)
        found = read_record(self._shard_path(shard), doc_id)
        if found is None:  # an older file format: parse the shard as a whole
            record = self._records(shard).get(doc_id)
        else:
            # The file may be newer than `stamp` (written since our last look): its own stamp
            # goes with the record, so a later look at the file's current stamp reuses it.
            stamp, record = found
        if record is not None:
            self._points[doc_id] = (stamp, record)
            if len(self._points) > POINT_RECORDS:
                self._points.popitem(last=False)
        return record

    def _refresh(self) -> None:
        """Reload the shards another process (or thread) changed since the last look."""
        raw = self._read_raw_state()
        version = version_of(raw)
        with self._mutex:
            if version == self._seen_version:
                return
            # Only stamps here: a changed shard is parsed again when it is next read.
            changed = self._changed_shards(raw, self._seen_version, version)
            if changed is not None:
                for shard in changed:
                    stamp = file_stamp(self._shard_path(shard))
                    if stamp is None:
                        self._stamps.pop(shard, None)
                    else:
                        self._stamps[shard] = stamp
                self._seen_version = version
                return
            self._stamps = {int(p.stem): file_stamp(p) for p in self.dir.glob("[0-9]*.json")}
            for shard in [s for s in self._parsed if s not in self._stamps]:
                gone, _ = self._parsed.pop(shard)
                self._parsed_bytes -= gone[1] if gone else 0
            for per_shard in self._indexes.values():
                for shard in [s for s in per_shard if s not in self._stamps]:
                    del per_shard[shard]
            self._seen_version = version

    def _peek(self, doc_id: int) -> Record | None:
        """One record with its id, or None (call with the mutex held)."""
        record = self._record(doc_id)
        return with_id(doc_id, record) if record is not None else None

    def _ids(self, field: str, key: Any) -> list[int]:
        """Ids whose field has this key, oldest first (call with the mutex held)."""
        per_shard = self._indexes.setdefault(field, {})
        ids: list[int] = []
        for s in sorted(self._stamps):
            stamp = self._stamps[s]
            built = per_shard.get(s)
            if built is None or built[0] != stamp:
                built = per_shard[s] = (stamp, _field_index(self._records(s), field))
            found = built[1].get(key)
            if found is not None:
                ids += (found,) if isinstance(found, int) else found
        return ids


def _field_index(records: dict[int, Record], field: str) -> dict[Any, int | list[int]]:
    """One shard's index of a field: value -> its record's id, or a list of ids, oldest first,
    when several share it. Most indexed fields are unique (a token's hash, a deal's answer), and
    a list for each of them held more memory than the rest of a large store's cache."""
    index: dict[Any, int | list[int]] = {}
    for i, r in sorted(records.items()):
        if field in r:
            key = index_key(r[field])
            found = index.get(key)
            if found is None:
                index[key] = i
            elif isinstance(found, int):
                index[key] = [found, i]
            else:
                found.append(i)
    return index
