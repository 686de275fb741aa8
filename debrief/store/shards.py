"""The shard file format: one TinyDB JSON file per SHARD_SIZE ids, one record per line.

A shard file holds one record per line (still one TinyDB JSON document), so a single record is
read by finding its line, without parsing the other 499 (`read_record`); files of the older one-line
format are read whole, and `debrief init` rewrites them (Store.upgrade).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import orjson
from tinydb.storages import Storage

from debrief import text
from debrief.files import atomic_write

log = logging.getLogger("debrief.store")

SHARD_SIZE = 500
STORE_FORMAT = 2  # 2: one record per line (read_record); data sets cached elsewhere record it
Record = dict[str, Any]
Stamp = tuple[int, int, int]


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
                    self.data = loads(f.read() or b"null")
            except FileNotFoundError:
                return None
        return self.data

    def write(self, data: dict) -> None:
        """Replace the file atomically with the new content."""
        atomic_write(self.path, dumps(data), fsync=self.fsync)
        self.data = data

    def close(self) -> None:
        """Nothing stays open between operations."""


def dumps(data: Any) -> bytes:
    """Compact JSON, one record per line (read_record); orjson, several times json.dumps's speed."""
    try:
        records = data.get("_default") if isinstance(data, dict) and len(data) == 1 else None
        if isinstance(records, dict):
            lines = b",\n".join(
                orjson.dumps(str(k)) + b":" + orjson.dumps(v) for k, v in records.items()
            )
            return LINES + lines + b"\n}}"
        return orjson.dumps(data)
    except TypeError:  # an int past 64 bits, a lone surrogate: the stdlib writes those
        # The leading space (orjson never writes one) tells loads to read it with the stdlib
        # too: orjson would read such an int back as a float.
        return b" " + json.dumps(data, separators=(",", ":")).encode()


# A shard file written by dumps starts with this and holds one record per line: JSON strings
# never contain a raw newline, so b'\n"<id>":' can only be the start of that record's line.
LINES = b'{"_default":{\n'


def read_record(path: Path, doc_id: int) -> tuple[Stamp | None, Record | None] | None:
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
    if not raw.startswith(LINES):
        return None  # written before this format, or by the stdlib fallback
    stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
    key = b'\n"%d":' % doc_id
    at = raw.find(key)
    if at < 0:
        return stamp, None
    start = at + len(key)
    line = raw[start : raw.find(b"\n", start)]
    return stamp, loads(line[:-1] if line.endswith(b",") else line)


def loads(raw: bytes) -> Any:
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


def load(path: Path) -> dict[int, Record]:
    """A whole shard file's records by id (none when the file does not exist)."""
    try:
        with open(path, "rb") as f:
            data = loads(f.read() or b"{}")
    except FileNotFoundError:
        return {}
    return {int(k): v for k, v in data.get("_default", {}).items()}


def file_stamp(path: Path) -> Stamp | None:
    """What changes whenever a shard file is replaced."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def with_id(doc_id: int, record: Record) -> Record:
    """A record as callers see it: its fields and its id."""
    return {**record, "id": doc_id}
