"""A table: one kind of record (deals, users, ...) in a folder of shard files; how it is read.

Every table is a folder of shard files of at most SHARD_SIZE ids each (shards.py), so a write
rewrites one small file whatever the history (writes.py):

    <data>/db/<table>/000000.json   ids 1..SHARD_SIZE-1 (a TinyDB file)
    <data>/db/<table>/state         the change counter, next free id and lock (state.py)

Reads take no lock: they go through this process's copy of the shards (cache.py).
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from debrief.store.cache import index_key
from debrief.store.shards import Record, Stamp, with_id
from debrief.store.writes import TableWrites


class Table(TableWrites):
    """One kind of record (deals, users, ...) stored in shard files."""

    def __init__(self, root: Path, name: str, fsync: bool = True) -> None:
        self.name = name
        self.dir = root / name
        # On a full or read-only disk reads find no records; the first write says why (_locked).
        with contextlib.suppress(OSError):
            self.dir.mkdir(parents=True, exist_ok=True)
        self.state_path = self.dir / "state"
        self.fsync = fsync
        self._mutex = threading.RLock()
        # Every shard file at the last look (number -> stamp), and the parsed ones kept (LRU).
        self._stamps: dict[int, Stamp | None] = {}
        self._parsed: OrderedDict[int, tuple[Stamp | None, dict[int, Record]]] = OrderedDict()
        self._parsed_bytes = 0
        # Single records by id, with the stamp of the shard they were read from (LRU).
        self._points: OrderedDict[int, tuple[Stamp | None, Record]] = OrderedDict()
        self._seen_version: int | None = None
        self._state_fd: int | None = None  # for reading; writers open their own (flock)
        # field -> shard -> (the shard's stamp, value -> ids): a write replaces one shard, so
        # only that shard's part of an index is rebuilt (500 records, not 50k).
        self._indexes: dict[str, dict[int, tuple[Stamp | None, dict[Any, int | list[int]]]]] = {}
        self._swept = False

    def get(self, doc_id: int) -> Record | None:
        """One record by id, or None."""
        self._refresh()
        with self._mutex:
            record = self._record(doc_id)
        return with_id(doc_id, record) if record is not None else None

    def all(self) -> list[Record]:
        """Every record, oldest first."""
        self._refresh()
        with self._mutex:
            return [
                with_id(i, r)
                for s in sorted(self._stamps)
                for i, r in sorted(self._records(s).items())
            ]

    def shards(self) -> dict[int, Stamp | None]:
        """Shard number -> file stamp: a cache derived per shard redoes only the changed ones."""
        self._refresh()
        with self._mutex:
            return dict(self._stamps)

    def shard(self, number: int) -> list[Record]:
        """The records of one shard, oldest first (at least as new as its stamp in shards())."""
        self._refresh()
        with self._mutex:
            return [with_id(i, r) for i, r in sorted(self._records(number).items())]

    def search(self, predicate: Callable[[Record], bool]) -> list[Record]:
        """Records for which predicate(record) is true, oldest first."""
        return [r for r in self.all() if predicate(r)]

    def find(self, field: str, value: Any) -> list[Record]:
        """Records whose field equals value, through an in-memory index."""
        self._refresh()
        with self._mutex:
            ids = self._ids(field, index_key(value))
            return [r for r in (self._peek(i) for i in ids) if r is not None]

    def find_one(self, field: str, value: Any) -> Record | None:
        """The first record whose field equals value, or None."""
        found = self.find(field, value)
        return found[0] if found else None

    def version(self) -> int:
        """A counter that moves whenever any process changes this table (for derived caches)."""
        return self._read_state()[0]

    def count(self) -> int:
        """How many records there are."""
        self._refresh()
        with self._mutex:
            return sum(len(self._records(s)) for s in self._stamps)
