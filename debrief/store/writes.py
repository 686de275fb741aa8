"""A table's writes: each under the table's lock, one shard file rewritten, then the counter moved.

Writes: lock the table, let TinyDB read and change the shard, write it through AtomicJSONStorage
(temp file, fsync, os.replace: a killed process leaves the old or the new file, never half of
one), bump the counter, unlock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tinydb import TinyDB
from tinydb.table import Document

from debrief.files import atomic_write
from debrief.store.cache import ShardCache, index_key
from debrief.store.shards import (
    LINES,
    SHARD_SIZE,
    AtomicJSONStorage,
    Record,
    dumps,
    file_stamp,
    load,
    with_id,
)


class TableWrites(ShardCache):
    """The writing side of a Table (its attributes are set in Table.__init__)."""

    fsync: bool

    def _change_shard(self, fd: int, shard: int, change: Callable[[Any], Any]) -> Any:
        """Run change(tinydb_table) on one shard and refresh this process's copy of it."""
        path = self._shard_path(shard)
        # Parsing a whole shard is the costly part of a write: skip it when the cache is exact.
        storage = AtomicJSONStorage(path, self.fsync, self._cached_parse(fd, shard))
        db = TinyDB(storage=lambda: storage)
        result = change(db.table("_default"))
        if storage.data is not None:
            records = {int(k): v for k, v in storage.data.get("_default", {}).items()}
            stamp = file_stamp(path)
            with self._mutex:
                self._stamps[shard] = stamp
                self._keep(shard, stamp, records)
        return result

    def upgrade(self) -> int:
        """Rewrite shard files of an older format in the current one; how many were rewritten."""
        rewritten = 0
        with self._locked() as fd:
            for path in sorted(self.dir.glob("[0-9]*.json")):
                with open(path, "rb") as f:
                    head = f.read(len(LINES))
                if head == LINES or head[:1] == b" ":  # current, or the stdlib's on purpose
                    continue
                records = load(path)
                content = {"_default": {str(i): r for i, r in records.items()}}
                atomic_write(path, dumps(content), fsync=self.fsync)
                rewritten += 1
            if rewritten:
                self._bump(fd, -1)
        return rewritten

    def insert(self, record: Record) -> int:
        """Store a new record and return its id."""
        with self._locked() as fd:
            return self._insert_locked(fd, record)

    def _insert_locked(self, fd: int, record: Record) -> int:
        next_id = self._read_state(fd)[1]
        data = {k: v for k, v in record.items() if k != "id"}
        while True:
            try:
                self._change_shard(
                    fd,
                    next_id // SHARD_SIZE,
                    lambda t, i=next_id: t.insert(Document(data, doc_id=i)),
                )
                break
            except ValueError:  # the id is taken: a writer died before it bumped the state
                next_id += 1
        self._bump(fd, next_id // SHARD_SIZE, next_id + 1)
        return next_id

    def insert_unique(self, record: Record, field: str) -> tuple[int, bool]:
        """Insert unless a record with the same field value exists: (id, created)."""
        with self._locked() as fd:
            self._refresh()
            if record.get(field) not in (None, ""):
                existing = self.find_one(field, record[field])
                if existing is not None:
                    return existing["id"], False
            return self._insert_locked(fd, record), True

    def insert_many(
        self, records: list[Record], unique: str | None = None
    ) -> list[tuple[int, bool]]:
        """Insert many records with one file write per shard: [(id, created)] in order.

        With unique=field, a record whose field value exists already (or appeared earlier
        in the same batch) is not inserted and reports the existing id with created=False.
        """
        with self._locked() as fd:
            self._refresh()
            next_id = self._read_state(fd)[1]
            # A writer killed before bumping the state may have used ids beyond next_id.
            with self._mutex:
                last = self._records(max(self._stamps)) if self._stamps else {}
            if last:
                next_id = max(next_id, max(last) + 1)
            results: list[tuple[int, bool]] = []
            seen: dict[Any, int] = {}
            by_shard: dict[int, list[Document]] = {}
            for record in records:
                value = record.get(unique) if unique else None
                if value not in (None, ""):
                    key = index_key(value)
                    with self._mutex:
                        found = self._ids(unique, key)
                    existing = seen.get(key) or (found[0] if found else None)
                    if existing is not None:
                        results.append((existing, False))
                        continue
                    seen[key] = next_id
                data = {k: v for k, v in record.items() if k != "id"}
                by_shard.setdefault(next_id // SHARD_SIZE, []).append(
                    Document(data, doc_id=next_id)
                )
                results.append((next_id, True))
                next_id += 1
            for shard, docs in by_shard.items():
                self._change_shard(fd, shard, lambda t, d=docs: t.insert_multiple(d))
            if by_shard:
                self._bump(fd, next(iter(by_shard)) if len(by_shard) == 1 else -1, next_id)
            return results

    def update(
        self,
        doc_id: int,
        changes: Record,
        only_if: Callable[[Record], bool] | None = None,
    ) -> Record | None:
        """Change fields of one record; None if it is missing or only_if(record) is false."""
        changes = {k: v for k, v in changes.items() if k != "id"}

        def change(table: Any) -> Record | None:
            current = table.get(doc_id=doc_id)
            if current is None or (only_if is not None and not only_if(with_id(doc_id, current))):
                return None
            table.update(changes, doc_ids=[doc_id])
            return with_id(doc_id, {**current, **changes})

        with self._locked() as fd:
            result = self._change_shard(fd, doc_id // SHARD_SIZE, change)
            if result is not None:
                self._bump(fd, doc_id // SHARD_SIZE)
            return result

    def update_many(self, doc_ids: list[int], changes: Record) -> int:
        """The same change to many records, one file write per shard; how many were found."""
        changes = {k: v for k, v in changes.items() if k != "id"}

        def change(table: Any, found: list[int]) -> None:
            table.update(changes, doc_ids=found)

        return len(self._per_shard(doc_ids, change))

    def remove(self, doc_id: int) -> bool:
        """Delete one record; False if it was not there."""

        def change(table: Any) -> bool:
            if table.get(doc_id=doc_id) is None:
                return False
            table.remove(doc_ids=[doc_id])
            return True

        with self._locked() as fd:
            removed = self._change_shard(fd, doc_id // SHARD_SIZE, change)
            if removed:
                self._bump(fd, doc_id // SHARD_SIZE)
            return removed

    def remove_many(
        self, doc_ids: list[int], only_if: Callable[[Record], bool] | None = None
    ) -> list[int]:
        """Delete many records, one file write per shard; the ids removed.

        only_if(record), asked under the table's lock, keeps the records it refuses.
        """
        return self._per_shard(doc_ids, lambda table, found: table.remove(doc_ids=found), only_if)

    def _per_shard(
        self,
        doc_ids: list[int],
        change: Callable[[Any, list[int]], None],
        only_if: Callable[[Record], bool] | None = None,
    ) -> list[int]:
        """change(table, the ids found there) on each shard, one write per shard; the ids found."""
        by_shard: dict[int, list[int]] = {}
        for doc_id in dict.fromkeys(doc_ids):
            by_shard.setdefault(doc_id // SHARD_SIZE, []).append(doc_id)

        def wanted(table: Any, doc_id: int) -> bool:
            if only_if is None:
                return table.contains(doc_id=doc_id)
            record = table.get(doc_id=doc_id)
            return record is not None and only_if(with_id(doc_id, record))

        def apply(table: Any, ids: list[int]) -> list[int]:
            found = [i for i in ids if wanted(table, i)]
            if found:
                change(table, found)
            return found

        done: list[int] = []
        with self._locked() as fd:
            for shard, ids in sorted(by_shard.items()):
                found = self._change_shard(fd, shard, lambda t, w=ids: apply(t, w))
                if found:
                    self._bump(fd, shard)
                done += found
        return done
