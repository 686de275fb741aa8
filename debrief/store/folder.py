"""The Store: every table of one data folder, and the timestamps its records carry."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

from debrief.store.table import Table


def now() -> datetime:
    """The current time in UTC (one place, so tests and records agree)."""
    return datetime.now(UTC)


def stamp(moment: datetime | None = None) -> str:
    """A timestamp as stored in records: ISO 8601, UTC, seconds."""
    return (moment or now()).isoformat(timespec="seconds")


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
