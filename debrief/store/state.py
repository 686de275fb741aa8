"""A table's state file: its write lock, its change counter and next free id, its ring of changes.

    <data>/db/<table>/state   16 bytes: a change counter and the next free id, then the ring;
                              also the file every writer locks (flock)

Writers change it in place under the lock, after the shard file is in place; readers take no lock
and compare the counter with the one they last saw to know whether to look at the shard files.
"""

from __future__ import annotations

import os
import struct
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from debrief.files import file_lock

_STATE = struct.Struct("<QQ")  # change counter, next free id
# After them in the state file, the last RING changes as (counter, shard) slots: a reader a few
# changes behind stats just those shards instead of every shard file of the table (on every
# read after each answer, under load). Shard -1: several, or unknown.
RING = 16
_SLOT = struct.Struct("<Qq")
STATE_BYTES = _STATE.size + RING * _SLOT.size


def version_of(raw: bytes) -> int:
    """The change counter in a state file's bytes (0 for a new table)."""
    return _STATE.unpack_from(raw)[0] if len(raw) >= _STATE.size else 0


class TableState:
    """The state file's side of a Table (its attributes are set in Table.__init__)."""

    dir: Path
    state_path: Path
    _mutex: threading.RLock
    _seen_version: int | None
    _state_fd: int | None
    _swept: bool

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
        return os.pread(fd, STATE_BYTES, 0)

    def _changed_shards(self, raw: bytes, seen: int | None, version: int) -> set[int] | None:
        """The shards changed after version `seen` up to `version`, if the ring still says."""
        if seen is None or not 0 < version - seen <= RING:
            return None
        raw = raw.ljust(STATE_BYTES, b"\0")  # the file grows as slots are first written
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
