"""The dashboard's raw entry counts, saved in <DATA_DIR>/cache/dashboard.json for the next process.

A process keeps the counts of its last scopes and, after an entry is added, counts only the new
rows onto them (caches.EntryCountsCache). Saved here, the same holds for a restarted app or a
new worker: it loads the last full count (a few thousand groups) and counts the entries added
since. The index's generation, largest id and entry count, saved with the counts, tell whether
they still apply; the file is derived data, so a missing, torn or foreign one is ignored and
written again after the next full count.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import orjson

from debrief import derived

CACHE_FILE = Path("cache") / "dashboard.json"
FORMAT = 1  # bump when the saved shape changes: an older file is then ignored
KEEP = 4  # scopes saved: the file is read whole by each new process

Key = tuple[str | None, str | None, str | None]  # (date_from, date_to, rep) of the filters

_TEXT = (str, type(None))
# Each Counter's key, position by position, as the index returns it (see _count_entries).
_SHAPES: dict[str, tuple[tuple[type, ...], ...]] = {
    "themes": ((str,), _TEXT, (int,)),  # month, stored themes, trend window
    "buyer": (_TEXT,),  # stored prospect_reasons
    "logged": (_TEXT,),  # stored rep_reasons
    "mains": (_TEXT, (str,), (str,)),  # rep, rep's main reason, buyer's main reason
    "competitors": (_TEXT,),
}


@dataclass
class EntryCounts:
    """The raw entry counts behind one dashboard, over the entries with ids up to `top`."""

    generation: str
    top: int
    count: int  # entries in the whole index at `top`: a deletion since shows as a shortfall
    reps: list[str] | None
    themes: Counter  # (month, stored themes, trend window) -> entries
    buyer: Counter  # stored prospect_reasons -> debriefs
    logged: Counter  # stored rep_reasons -> debriefs
    mains: Counter  # (rep, rep's main reason, buyer's main reason) -> debriefs
    competitors: Counter  # competitor -> debriefs
    entries: int  # entries inside the filters

    def plus(self, more: EntryCounts) -> EntryCounts:
        """These counts with those of the entries added since (new Counters: shared ones stay)."""
        return EntryCounts(
            more.generation, more.top, more.count, more.reps, self.themes + more.themes,
            self.buyer + more.buyer, self.logged + more.logged, self.mains + more.mains,
            self.competitors + more.competitors, self.entries + more.entries,
        )  # fmt: skip


def to_json(counts: EntryCounts) -> dict:
    """The counts as JSON values: each Counter as rows of [key parts..., n]."""
    data: dict = {
        "generation": counts.generation,
        "top": counts.top,
        "count": counts.count,
        "reps": counts.reps,
        "entries": counts.entries,
    }
    for name, shape in _SHAPES.items():
        counter: Counter = getattr(counts, name)
        if len(shape) == 1:
            data[name] = [[key, n] for key, n in counter.items()]
        else:
            data[name] = [[*key, n] for key, n in counter.items()]
    return data


def _counter(rows: list, shape: tuple[tuple[type, ...], ...]) -> Counter:
    """A Counter from saved rows; ValueError or TypeError when they are not of the shape."""
    # Checked column by column with C-level set(map(type)): a per-row check in Python took
    # longer than the load itself (thousands of rows).
    width = len(shape)
    if width == 1:
        out = Counter(dict(rows))  # ValueError or TypeError unless every row is [key, n]
        columns: list = [out.keys()]
    else:
        if any(len(row) != width + 1 for row in rows):
            raise ValueError("bad row length")
        out = Counter({tuple(row[:-1]): row[-1] for row in rows})
        columns = list(zip(*out.keys(), strict=True)) or [() for _ in shape]
    if not set(map(type, out.values())) <= {int}:
        raise ValueError("bad count")
    for column, kinds in zip(columns, shape, strict=True):
        if not set(map(type, column)) <= set(kinds):
            raise ValueError(f"bad key part, expected {kinds}")
    return out


def from_json(data: dict) -> EntryCounts:
    """The counts saved by to_json; ValueError, TypeError or KeyError when they are not."""
    reps = data["reps"]
    if reps is not None and not all(isinstance(r, str) for r in reps):
        raise ValueError("bad reps")
    head = (data["generation"], data["top"], data["count"], data["entries"])
    if not isinstance(head[0], str) or not all(type(v) is int for v in head[1:]):
        raise ValueError("bad counts")
    counters = {name: _counter(data[name], shape) for name, shape in _SHAPES.items()}
    return EntryCounts(head[0], head[1], head[2], reps, entries=head[3], **counters)


def load(path: Path) -> dict[Key, EntryCounts]:
    """The saved counts per filters, or none when the file is missing or not ours."""
    try:
        data = orjson.loads(path.read_bytes())
        if data.get("format") != FORMAT:
            return {}
        return {tuple(item["key"]): from_json(item) for item in data["counts"]}
    except (OSError, orjson.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError):
        return {}


_lock = threading.Lock()


def save(path: Path, key: Key, counts: EntryCounts) -> None:
    """Save one filter combination's counts beside the last others (atomic rename, no fsync)."""
    with _lock:
        kept = load(path)
        kept.pop(key, None)
        kept[key] = counts  # most recently saved last
        items = list(kept.items())[-KEEP:]
        data = {"format": FORMAT, "counts": [{"key": k, **to_json(c)} for k, c in items]}
        derived.save(path, data, "dashboard counts")  # the next process counts again
