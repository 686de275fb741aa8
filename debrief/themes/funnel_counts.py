"""The invitation funnel counted per (month sent, rep, stage), kept until a deal or invitation
changes, and saved in <DATA_DIR>/cache/funnel_counts.json for the next process; and the deals
lost with their value, per (rep, buyer's main reason, competitor), from the same inputs.

Counting the sent invitations is one Python pass over all of them, after loading its inputs
(funnel.py): a large share of a dashboard view. It was paid on every
recomputed dashboard, also when only an entry was added or the day changed, and on the first
view of every new process. So one pass counts every invitation per month (~1k groups), notes
each month's first and last day sent, and counts the latest month per day; any date range that
cuts no other month is then added up from these without a pass, whatever its days (the default
filters run from a month's first day to today). Other ranges are counted by a pass and kept.
All of it applies while every shard file of deals and invitations has the stamp it was counted
at. The file is derived data: a missing, torn or foreign one is ignored and written again.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from dataclasses import dataclass, field
from itertools import compress
from pathlib import Path

import orjson

from debrief import derived
from debrief.store import Store
from debrief.themes import funnel

CACHE_FILE = Path("cache") / "funnel_counts.json"
FORMAT = 3  # bump when the saved shape changes: an older file is then ignored
KEEP = 8  # other date ranges kept per data state
_MEMORY = "counts"  # the key of these counts in the app's funnel memory (beside funnel.py's)

Range = tuple[str, str]  # (first day, last day), inclusive
LossRow = tuple  # (rep id, buyer's main reason or None, competitor or None, deals, valued, value)


@dataclass
class Summary:
    """Every sent invitation counted per (month, rep id, stage), and the latest month per day."""

    months: Counter  # (month, rep id, stage) -> invitations
    bounds: dict[str, tuple[str, str]]  # month -> (first, last) day sent in it
    latest: str  # the latest month sent in ("" when none was)
    days: Counter  # (day, rep id, stage) -> invitations, of the latest month only
    ranges: dict[Range, Counter] = field(default_factory=dict)  # ranges that cut other months
    losses: dict[Range, list] = field(default_factory=dict)  # lost_count() rows per range


def fingerprint(now: dict[str, dict[int, tuple | None]]) -> str:
    """A short digest of every shard stamp of the funnel's tables."""
    flat = [[table, sorted(shards.items())] for table, shards in sorted(now.items())]
    return hashlib.blake2b(orjson.dumps(flat), digest_size=16).hexdigest()


def count(invitations: list[list], deals: list[list], start: str, end: str) -> Counter:
    """(month sent, rep's user id, stage reached) -> invitations sent from start to end."""
    rep_ids = dict(zip(deals[0], deals[1], strict=True)) if deals else {}
    if not invitations:
        return Counter()
    # The date filter is applied here, so the groups are per month (~900), not per day (~22k).
    return Counter(
        (day[:7], rep_ids.get(deal), reached)
        for deal, day, reached in zip(*invitations, strict=True)
        if start <= day <= end
    )


def summarize(invitations: list[list], deals: list[list]) -> Summary:
    """The per-month counts, month bounds and latest month's per-day counts of every sent one."""
    if not invitations or not invitations[0]:
        return Summary(Counter(), {}, "", Counter())
    rep_ids = dict(zip(deals[0], deals[1], strict=True)) if deals else {}
    deal_ids, days, stages = invitations
    reps = list(map(rep_ids.get, deal_ids))
    months = [day[:7] for day in days]
    bounds: dict[str, tuple[str, str]] = {}
    for day in set(days):  # ~700 distinct days at 50k deals
        first, last = bounds.get(day[:7], (day, day))
        bounds[day[:7]] = (min(first, day), max(last, day))
    latest = max(bounds)
    in_latest = [month == latest for month in months]
    return Summary(
        months=Counter(zip(months, reps, stages, strict=True)),
        bounds=bounds,
        latest=latest,
        days=Counter(compress(zip(days, reps, stages, strict=True), in_latest)),
    )


def from_summary(summary: Summary, start: str, end: str) -> Counter | None:
    """count() for the range from the summary; None when it cuts a month but the latest."""
    whole, cut_latest = set(), False
    for month, (first, last) in summary.bounds.items():
        if start <= first and last <= end:
            whole.add(month)  # every invitation of the month is inside the range
        elif last < start or first > end:
            continue  # none is
        elif month == summary.latest:
            cut_latest = True
        else:
            return None
    out = Counter({key: n for key, n in summary.months.items() if key[0] in whole})
    if cut_latest:
        for (day, rep, stage), n in summary.days.items():
            if start <= day <= end:
                out[(day[:7], rep, stage)] += n
    return out


# --- the file ------------------------------------------------------------------------------

_KEY_TYPES = ({str}, {int, str, type(None)}, {int})  # month or day, rep id, stage


def _rows(counter: Counter) -> list[list]:
    return [[*key, n] for key, n in counter.items()]


def _counter(rows: list) -> Counter:
    """A Counter from saved rows; ValueError or TypeError when they are not ours."""
    out = Counter({(a, b, c): n for a, b, c, n in rows})
    columns = zip(*out, strict=True) if out else ((), (), ())
    if not set(map(type, out.values())) <= {int}:
        raise ValueError("bad count")
    for column, kinds in zip(columns, _KEY_TYPES, strict=True):
        if not set(map(type, column)) <= kinds:
            raise ValueError("bad key part")
    return out


_LOSS_TYPES = (
    {int, str, type(None)},
    {str, type(None)},
    {str, type(None)},
    {int},
    {int},
    {int, float},
)  # rep id, buyer's main reason, competitor, deals, with a value, value (see lost_count)


def _loss_rows(rows: list) -> list[LossRow]:
    """lost_count() rows from the file; ValueError or TypeError when they are not ours."""
    out = [tuple(row) for row in rows]
    if any(len(row) != len(_LOSS_TYPES) for row in out):
        raise ValueError("bad loss row")
    for column, kinds in zip(zip(*out, strict=True), _LOSS_TYPES, strict=False):
        if not set(map(type, column)) <= kinds:
            raise ValueError("bad loss value")
    return out


def _load(path: Path) -> tuple[str, Summary | None]:
    """(fingerprint, summary) from the file, or ("", None) when it is missing or not ours."""
    try:
        data = orjson.loads(path.read_bytes())
        if data.get("format") != FORMAT or not isinstance(data["stamp"], str):
            return "", None
        bounds = {m: (lo, hi) for m, (lo, hi) in data["bounds"].items()}
        texts = [data["latest"], *bounds, *(day for pair in bounds.values() for day in pair)]
        if not all(isinstance(text, str) for text in texts):
            return "", None
        ranges = {}
        for start, end, rows in data["ranges"]:
            if not (isinstance(start, str) and isinstance(end, str)):
                return "", None
            ranges[(start, end)] = _counter(rows)
        losses = {(start, end): _loss_rows(rows) for start, end, rows in data["losses"]}
        summary = Summary(
            _counter(data["months"]), bounds, data["latest"], _counter(data["days"]), ranges,
            losses,
        )  # fmt: skip
        return data["stamp"], summary
    except (OSError, orjson.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError):
        return "", None


def _save(path: Path, stamp: str, summary: Summary) -> None:
    """Write the summary through a temporary file and an atomic rename (no fsync: derived)."""
    data = {
        "format": FORMAT,
        "stamp": stamp,
        "months": _rows(summary.months),
        "bounds": summary.bounds,
        "latest": summary.latest,
        "days": _rows(summary.days),
        "ranges": [[s, e, _rows(c)] for (s, e), c in summary.ranges.items()],
        "losses": [[s, e, rows] for (s, e), rows in summary.losses.items()],
    }
    derived.save(path, data, "funnel counts")  # the next process counts again


_lock = threading.Lock()


def _kept(store: Store, data_dir: str | Path, memory: dict) -> tuple[str, Summary | None, dict]:
    """(fingerprint, summary or None, stamps) of the data as now: the kept or saved summary."""
    now = funnel.stamps(store)
    stamp = fingerprint(now)
    with _lock:
        kept = memory.get(_MEMORY)
        if kept is None or kept[0] != stamp:
            saved = _load(Path(data_dir) / CACHE_FILE)
            kept = memory[_MEMORY] = saved if saved[0] == stamp else (stamp, None)
    return stamp, kept[1], now


def sent_counts(store: Store, data_dir: str | Path, memory: dict, start: str, end: str) -> Counter:
    """count() for the range: from the kept or saved summary while it applies, else counted.

    memory: where this app keeps its funnel caches between calls (an empty dict the first time).
    """
    stamp, summary, now = _kept(store, data_dir, memory)
    path = Path(data_dir) / CACHE_FILE
    if summary is not None:
        found = from_summary(summary, start, end)
        if found is None:
            found = summary.ranges.get((start, end))
        if found is not None:
            return found
    invitations, deals, _ = funnel.inputs(store, data_dir, memory, now)
    if summary is None:
        summary = summarize(invitations, deals)
    counted = from_summary(summary, start, end)
    other_range = counted is None
    if other_range:
        counted = count(invitations, deals, start, end)
    with _lock:  # other threads may be reading this summary: its ranges change under the lock
        if other_range:
            summary.ranges[(start, end)] = counted
            while len(summary.ranges) > KEEP:
                del summary.ranges[next(iter(summary.ranges))]
        if memory[_MEMORY][0] == stamp:  # no other thread moved on to newer data meanwhile
            memory[_MEMORY] = (stamp, summary)
            _save(path, stamp, summary)
    return counted


# --- the deals lost and their value ----------------------------------------------------------


def lost_count(deals: list[list], answers: list[list], start: str, end: str) -> list[LossRow]:
    """The deals lost from start to end, grouped by rep, buyer's main reason and competitor.

    The competitor is the vendor the buyer named, else the one the rep recorded. Each group
    counts its deals, those with a value, and the sum of their values.
    """
    if not deals or not deals[0]:
        return []
    answered = {deal: (reason, named) for deal, reason, named in zip(*answers, strict=True)}
    nobody = (None, None)
    groups: dict[tuple, list] = {}
    for deal, rep, day, value, competitor in zip(*deals, strict=True):
        if not start <= day <= end:
            continue
        reason, named = answered.get(deal, nobody)
        key = (rep, reason, named or competitor)
        tally = groups.get(key)
        if tally is None:
            tally = groups[key] = [0, 0, 0.0]
        tally[0] += 1
        if value is not None:
            tally[1] += 1
            tally[2] += value
    return [(*key, *tally) for key, tally in groups.items()]


def loss_counts(store: Store, data_dir: str | Path, memory: dict, start: str, end: str) -> list:
    """lost_count() for the range: kept with the funnel's summary (and saved with it) while
    every deal, invitation and answer shard is unchanged, else counted by one pass.

    memory: the app's funnel memory (as for sent_counts).
    """
    stamp, summary, now = _kept(store, data_dir, memory)
    found = summary.losses.get((start, end)) if summary is not None else None
    if found is not None:  # one get(): another thread may drop the range under the lock
        return found
    invitations, deals, answers = funnel.inputs(store, data_dir, memory, now)
    if summary is None:
        summary = summarize(invitations, deals)
    counted = lost_count(deals, answers, start, end)
    with _lock:  # as in sent_counts
        summary.losses[(start, end)] = counted
        while len(summary.losses) > KEEP:
            del summary.losses[next(iter(summary.losses))]
        if memory[_MEMORY][0] == stamp:
            memory[_MEMORY] = (stamp, summary)
            _save(Path(data_dir) / CACHE_FILE, stamp, summary)
    return counted
