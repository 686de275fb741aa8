"""The operational store: TinyDB records, safe for many threads and processes.

The only module that imports TinyDB. TinyDB rewrites its whole JSON file on every
write, so one file holding the whole history would make each write cost O(records).
Here every table is a folder of shard files of
at most SHARD_SIZE ids each, so a write rewrites one small file whatever the history:

    <data>/db/<table>/000000.json   ids 1..SHARD_SIZE-1 (a TinyDB file)
    <data>/db/<table>/state         16 bytes: a change counter and the next free id;
                                    also the file every writer locks (flock)

Writes: lock the table, let TinyDB read and change the shard, write it through
AtomicJSONStorage (temp file, fsync, os.replace: a killed process leaves the old or
the new file, never half of one), bump the counter, unlock. Reads take no lock: each
process keeps the parsed shards in memory and reloads only those whose file changed,
checked cheaply through the counter. A shard file holds one record per line (still one
TinyDB JSON document), so a single record is read by finding its line, without parsing the
other 499; `debrief init` rewrites files of the older one-line format (Store.upgrade).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import struct
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Document

from debrief import text
from debrief.files import atomic_write, file_lock

log = logging.getLogger("debrief.store")

SHARD_SIZE = 500
STORE_FORMAT = 2  # 2: one record per line (_point); data sets cached elsewhere record it
# Parsed shards kept per table, by the size of their files: Python objects take several times
# the JSON, and holding every shard of a large store outgrew a process's memory budget. Beyond
# it the least recently used shard is dropped and parsed again when needed. Field indexes
# (value -> ids) are kept for every shard.
CACHE_BYTES = 2 * 2**20
# Records read one at a time (a deal for its entry page, an invitation for its link) are also
# kept on their own, up to this many per table: pages of recent entries reach deals and answers
# spread over every shard, and parsing a whole shard for one record was most of an entry
# page's CPU. Each is small in memory.
POINT_RECORDS = 2000
_STATE = struct.Struct("<QQ")  # change counter, next free id
# After them in the state file, the last RING changes as (counter, shard) slots: a reader a few
# changes behind stats just those shards instead of every shard file of the table (on every
# read after each answer, under load). Shard -1: several, or unknown.
RING = 16
_SLOT = struct.Struct("<Qq")
_STATE_BYTES = _STATE.size + RING * _SLOT.size
Record = dict[str, Any]


class AtomicJSONStorage(Storage):
    """TinyDB storage that writes through a temporary file, fsync and atomic replace."""

    def __init__(self, path: str | Path, fsync: bool = True, data: dict | None = None) -> None:
        self.path = Path(path)
        self.fsync = fsync
        # `data`: the file's content already parsed (the table's cache, known to be current).
        self.data: dict | None = data

    def read(self) -> dict | None:
        """Parse the file once per locked section (None when it does not exist yet)."""
        if self.data is None:
            try:
                with open(self.path, "rb") as f:
                    self.data = _loads(f.read() or b"null")
            except FileNotFoundError:
                return None
        return self.data

    def write(self, data: dict) -> None:
        """Replace the file atomically with the new content."""
        atomic_write(self.path, _dumps(data), fsync=self.fsync)
        self.data = data

    def close(self) -> None:
        """Nothing stays open between operations."""


def _dumps(data: Any) -> bytes:
    """Compact JSON, one record per line (see _point); orjson, several times json.dumps's speed."""
    try:
        records = data.get("_default") if isinstance(data, dict) and len(data) == 1 else None
        if isinstance(records, dict):
            lines = b",\n".join(
                orjson.dumps(str(k)) + b":" + orjson.dumps(v) for k, v in records.items()
            )
            return _LINES + lines + b"\n}}"
        return orjson.dumps(data)
    except TypeError:  # an int past 64 bits, a lone surrogate: the stdlib writes those
        # The leading space (orjson never writes one) tells _loads to read it with the stdlib
        # too: orjson would read such an int back as a float.
        return b" " + json.dumps(data, separators=(",", ":")).encode()


# A shard file written by _dumps starts with this and holds one record per line: JSON strings
# never contain a raw newline, so b'\n"<id>":' can only be the start of that record's line.
_LINES = b'{"_default":{\n'


def _point(path: Path, doc_id: int) -> tuple[Stamp | None, Record | None] | None:
    """(file stamp, record or None) read without parsing the whole shard; None: not line format.

    An entry page needs one deal and one answer, from any shard: finding the record's line and
    parsing it is a small part of parsing the whole shard.
    """
    try:
        with open(path, "rb") as f:
            raw = f.read()
            st = os.fstat(f.fileno())
    except FileNotFoundError:
        return None, None
    if not raw.startswith(_LINES):
        return None  # written before this format, or by the stdlib fallback
    stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
    key = b'\n"%d":' % doc_id
    at = raw.find(key)
    if at < 0:
        return stamp, None
    start = at + len(key)
    line = raw[start : raw.find(b"\n", start)]
    return stamp, _loads(line[:-1] if line.endswith(b",") else line)


def _loads(raw: bytes) -> Any:
    """Parse a shard: orjson (3x faster: a cold dashboard reads 100k records), else the stdlib."""
    if raw[:1] != b" ":
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass  # NaN or an escaped lone surrogate, written by json.dumps before orjson
    data = json.loads(raw)
    # Only the stdlib path can meet a lone surrogate (orjson refuses them). Older versions stored
    # some; one left in a record made every page showing it fail to encode its response as UTF-8.
    if text.has_surrogate(data):
        log.warning("a stored record holds a lone surrogate: it is shown as U+FFFD")
        data = text.repair_all(data)
    return data


Stamp = tuple[int, int, int]


def _stamp(path: Path) -> Stamp | None:
    """What changes whenever a shard file is replaced."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class Table:
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
        self._indexes: dict[str, dict[int, tuple[Stamp | None, dict[Any, list[int]]]]] = {}
        self._swept = False

    # -- files -------------------------------------------------------------------------
    def _shard_path(self, shard: int) -> Path:
        return self.dir / f"{shard:06d}.json"

    def _read_state(self, fd: int | None = None) -> tuple[int, int]:
        """The change counter and next id (zeros for a new table)."""
        raw = os.pread(fd, _STATE.size, 0) if fd is not None else self._read_raw_state()
        return _STATE.unpack_from(raw) if len(raw) >= _STATE.size else (0, 1)

    def _read_raw_state(self) -> bytes:
        """The state file's bytes, through a descriptor kept open (it is changed only in place)."""
        fd = self._state_fd
        if fd is None:
            with self._mutex:
                if self._state_fd is None:
                    try:
                        self._state_fd = os.open(self.state_path, os.O_RDONLY)
                    except FileNotFoundError:
                        return b""  # no write yet
                    weakref.finalize(self, os.close, self._state_fd)
                fd = self._state_fd
        return os.pread(fd, _STATE_BYTES, 0)

    def _changed_shards(self, raw: bytes, seen: int | None, version: int) -> set[int] | None:
        """The shards changed after version `seen` up to `version`, if the ring still says."""
        if seen is None or not 0 < version - seen <= RING:
            return None
        raw = raw.ljust(_STATE_BYTES, b"\0")  # the file grows as slots are first written
        shards = set()
        for v in range(seen + 1, version + 1):
            slot_version, shard = _SLOT.unpack_from(raw, _STATE.size + (v % RING) * _SLOT.size)
            if slot_version != v or shard < 0:  # overwritten since, or a change of many shards
                return None
            shards.add(shard)
        return shards

    @contextmanager
    def _locked(self) -> Iterator[int]:
        """Hold the table's write lock, shared by threads and processes alike."""
        if not self.dir.is_dir():  # the folder could not be made when the table was opened
            self.dir.mkdir(parents=True, exist_ok=True)
        with file_lock(self.state_path) as fd:
            if not self._swept:
                # Temp files are only written under this lock: any found now belong to
                # a writer that was killed mid-write, and were never the real file.
                for stale in self.dir.glob(".*.tmp"):
                    stale.unlink(missing_ok=True)
                self._swept = True
            yield fd

    def _bump(self, fd: int, shard: int, next_id: int | None = None) -> None:
        """Tell every reader that a shard changed (after the shard is in place; -1: several)."""
        version, stored_next = self._read_state(fd)
        # The slot first, then the counter: a reader that sees the new counter finds its slot.
        slot = _STATE.size + ((version + 1) % RING) * _SLOT.size
        os.pwrite(fd, _SLOT.pack(version + 1, shard), slot)
        os.pwrite(fd, _STATE.pack(version + 1, max(stored_next, next_id or 0)), 0)
        with self._mutex:
            if self._seen_version == version:
                # Nobody else wrote since our last look, and _change_shard already put our own
                # change in the cache: the next read need not glob and stat every shard file.
                self._seen_version = version + 1

    def _cached_parse(self, fd: int, shard: int) -> dict | None:
        """The shard's content as TinyDB would parse it, from the cache when it is current.

        Only under the write lock, and only when no other writer touched this shard since this
        process last looked (the counter has not moved, or the state file's ring of recent
        changes names other shards only): then the cache is the file. With two workers taking
        answers, the other's writes elsewhere no longer cost a re-parse of this shard.
        Records are copied, because TinyDB changes the documents it is given in place.
        """
        raw = os.pread(fd, _STATE_BYTES, 0)
        version = _STATE.unpack_from(raw)[0] if len(raw) >= _STATE.size else 0
        with self._mutex:
            cached = self._parsed.get(shard)
            if cached is None or cached[0] != self._stamps.get(shard):
                return None
            if version != self._seen_version:
                changed = self._changed_shards(raw, self._seen_version, version)
                if changed is None or shard in changed:
                    return None
            return {"_default": {str(i): dict(r) for i, r in cached[1].items()}}

    def _change_shard(self, fd: int, shard: int, change: Callable[[Any], Any]) -> Any:
        """Run change(tinydb_table) on one shard and refresh this process's copy of it."""
        path = self._shard_path(shard)
        # Parsing a whole shard is the costly part of a write: skip it when the cache is exact.
        storage = AtomicJSONStorage(path, self.fsync, self._cached_parse(fd, shard))
        db = TinyDB(storage=lambda: storage)
        result = change(db.table("_default"))
        if storage.data is not None:
            records = {int(k): v for k, v in storage.data.get("_default", {}).items()}
            stamp = _stamp(path)
            with self._mutex:
                self._stamps[shard] = stamp
                self._keep(shard, stamp, records)
        return result

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
        records = self._load(self._shard_path(shard))
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
        found = _point(self._shard_path(shard), doc_id)
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

    # -- reading -----------------------------------------------------------------------
    def _refresh(self) -> None:
        """Reload the shards another process (or thread) changed since the last look."""
        raw = self._read_raw_state()
        version = _STATE.unpack_from(raw)[0] if len(raw) >= _STATE.size else 0
        with self._mutex:
            if version == self._seen_version:
                return
            # Only stamps here: a changed shard is parsed again when it is next read.
            changed = self._changed_shards(raw, self._seen_version, version)
            if changed is not None:
                for shard in changed:
                    stamp = _stamp(self._shard_path(shard))
                    if stamp is None:
                        self._stamps.pop(shard, None)
                    else:
                        self._stamps[shard] = stamp
                self._seen_version = version
                return
            self._stamps = {int(p.stem): _stamp(p) for p in self.dir.glob("[0-9]*.json")}
            for shard in [s for s in self._parsed if s not in self._stamps]:
                gone, _ = self._parsed.pop(shard)
                self._parsed_bytes -= gone[1] if gone else 0
            for per_shard in self._indexes.values():
                for shard in [s for s in per_shard if s not in self._stamps]:
                    del per_shard[shard]
            self._seen_version = version

    @staticmethod
    def _load(path: Path) -> dict[int, Record]:
        try:
            with open(path, "rb") as f:
                data = _loads(f.read() or b"{}")
        except FileNotFoundError:
            return {}
        return {int(k): v for k, v in data.get("_default", {}).items()}

    @staticmethod
    def _out(doc_id: int, record: Record) -> Record:
        return {**record, "id": doc_id}

    def get(self, doc_id: int) -> Record | None:
        """One record by id, or None."""
        self._refresh()
        with self._mutex:
            record = self._record(doc_id)
        return self._out(doc_id, record) if record is not None else None

    def all(self) -> list[Record]:
        """Every record, oldest first."""
        self._refresh()
        with self._mutex:
            return [
                self._out(i, r)
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
            return [self._out(i, r) for i, r in sorted(self._records(number).items())]

    def search(self, predicate: Callable[[Record], bool]) -> list[Record]:
        """Records for which predicate(record) is true, oldest first."""
        return [r for r in self.all() if predicate(r)]

    def find(self, field: str, value: Any) -> list[Record]:
        """Records whose field equals value, through an in-memory index."""
        self._refresh()
        with self._mutex:
            ids = self._ids(field, _key(value))
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

    def _peek(self, doc_id: int) -> Record | None:
        record = self._record(doc_id)
        return self._out(doc_id, record) if record is not None else None

    def _ids(self, field: str, key: Any) -> list[int]:
        """Ids whose field has this key, oldest first (call with the mutex held)."""
        per_shard = self._indexes.setdefault(field, {})
        ids: list[int] = []
        for s in sorted(self._stamps):
            stamp = self._stamps[s]
            built = per_shard.get(s)
            if built is None or built[0] != stamp:
                index: dict[Any, list[int]] = {}
                for i, r in sorted(self._records(s).items()):
                    if field in r:
                        index.setdefault(_key(r[field]), []).append(i)
                built = per_shard[s] = (stamp, index)
            ids += built[1].get(key, ())
        return ids

    # -- writing -----------------------------------------------------------------------
    def upgrade(self) -> int:
        """Rewrite shard files of an older format in the current one; how many were rewritten."""
        rewritten = 0
        with self._locked() as fd:
            for path in sorted(self.dir.glob("[0-9]*.json")):
                with open(path, "rb") as f:
                    head = f.read(len(_LINES))
                if head == _LINES or head[:1] == b" ":  # current, or the stdlib's on purpose
                    continue
                records = self._load(path)
                content = {"_default": {str(i): r for i, r in records.items()}}
                atomic_write(path, _dumps(content), fsync=self.fsync)
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
                    key = _key(value)
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
            if current is None or (only_if is not None and not only_if(self._out(doc_id, current))):
                return None
            table.update(changes, doc_ids=[doc_id])
            return self._out(doc_id, {**current, **changes})

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
            return record is not None and only_if(self._out(doc_id, record))

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


def now() -> datetime:
    """The current time in UTC (one place, so tests and records agree)."""
    return datetime.now(UTC)


def stamp(moment: datetime | None = None) -> str:
    """A timestamp as stored in records: ISO 8601, UTC, seconds."""
    return (moment or now()).isoformat(timespec="seconds")


def _key(value: Any) -> Any:
    """A hashable form of a field value for the in-memory indexes."""
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, list):
        return tuple(value)
    return value


class Store:
    """All tables of one data folder; one instance per process, shared by its threads."""

    def __init__(self, root: Path, fsync: bool = True) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.fsync = fsync
        self._tables: dict[str, Table] = {}
        self._mutex = threading.Lock()

    def upgrade(self) -> int:
        """Rewrite every table's shard files of an older format (`debrief init`); how many."""
        names = sorted(p.name for p in self.root.iterdir() if p.is_dir())
        return sum(self.table(name).upgrade() for name in names)

    def has_table(self, name: str) -> bool:
        """Whether the table exists already (asking table() would create its folder)."""
        return name in self._tables or (self.root / name).is_dir()

    def table(self, name: str) -> Table:
        """The table of that name, created on first use."""
        with self._mutex:
            if name not in self._tables:
                self._tables[name] = Table(self.root, name, self.fsync)
            return self._tables[name]


def init_app(app: Any) -> None:
    """Give the app one Store over <DATA_DIR>/db."""
    app.extensions["debrief.store"] = Store(Path(app.config["DATA_DIR"]) / "db")


def get_store() -> Store:
    """The current app's store."""
    from flask import current_app

    return current_app.extensions["debrief.store"]
