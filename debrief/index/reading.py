"""Reading every entry file for a rebuild, parsed in a few processes when there are many.

Parsing (the header, the Markdown's plain text) is most of a rebuild's time at scale, and one
process uses one core. The files are independent: worker processes parse slices of them and the
rebuild takes the results in the files' order, so ids, duplicate slugs and problems come out as
from one process. Workers are spawned, not forked: a server process that rebuilds (on opening a
new index) has threads, and a forked child would inherit the locks they hold.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from itertools import repeat
from pathlib import Path

from debrief import files
from debrief.entries import EntryError
from debrief.index import writes
from debrief.index.sync import parse_or_error

log = logging.getLogger(__name__)
PARALLEL_FROM = 5000  # files; fewer are parsed here (starting the workers costs about a second)
CHUNK = 500  # files per task: large enough that passing results costs little beside parsing
MAX_WORKERS = 4

Stat = tuple[int, int]  # (mtime_ns, size)


def read_all(
    root: Path,
    progress: Callable[[int, int], None] | None = None,
    themes: frozenset[str] = frozenset(),
) -> tuple[list[dict], list[tuple[str, str, int, int]], dict[str, int]]:
    """Every file parsed for a rebuild: (entry rows, problems, folder mtimes); themes: the
    themes that exist (writes.row_values)."""
    stats, folders = files.scan(root)
    rows: list[dict] = []
    problems: list[tuple[str, str, int, int]] = []
    seen: dict[str, str] = {}
    order = sorted(stats)
    for done, (rel, parsed) in enumerate(_parsed(root, order, stats, themes), 1):
        mtime, size = stats[rel]
        if isinstance(parsed, dict) and parsed["slug"] in seen:
            parsed = f"duplicate slug {parsed['slug']!r}: {seen[parsed['slug']]}"
        if isinstance(parsed, str):
            problems.append((rel, parsed, mtime, size))
        else:
            seen[parsed["slug"]] = rel
            rows.append(parsed)
        if progress and (done % 500 == 0 or done == len(order)):
            progress(done, len(order))
    return rows, problems, folders


def parse_file(root: Path, rel: str, stat: Stat, themes: frozenset[str]) -> dict | str:
    """One file's entry row (writes.row_values), or the reason it is not an entry."""
    result = parse_or_error(root, rel, stat[0])
    if isinstance(result, EntryError):
        return result.reason
    return writes.row_values(result, rel, stat[0], stat[1], themes)


def _parse_chunk(root: Path, chunk: list[tuple[str, Stat]], themes: frozenset[str]) -> list:
    """parse_file() of each file of a slice (what a worker process runs)."""
    return [parse_file(root, rel, stat, themes) for rel, stat in chunk]


def _parsed(
    root: Path, order: list[str], stats: dict[str, Stat], themes: frozenset[str]
) -> Iterator[tuple[str, dict | str]]:
    """(path, parse_file()) of every file, in order: by worker processes when there are many
    files and cores; here when there are few, or when the workers cannot start or fail."""
    workers = min(os.cpu_count() or 1, MAX_WORKERS)
    chunks = [[(rel, stats[rel]) for rel in order[i : i + CHUNK]]
              for i in range(0, len(order), CHUNK)]  # fmt: skip
    done = 0
    if len(order) >= PARALLEL_FROM and workers > 1:
        try:
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(workers, mp_context=context) as pool:
                results = pool.map(_parse_chunk, repeat(root), chunks, repeat(themes))
                for chunk, parsed in zip(chunks, results, strict=True):
                    yield from zip((rel for rel, _ in chunk), parsed, strict=True)
                    done += 1
        except (OSError, BrokenProcessPool) as exc:
            log.warning("parsing in one process: the workers failed (%s)", exc)
    for chunk in chunks[done:]:
        yield from zip((rel for rel, _ in chunk), _parse_chunk(root, chunk, themes), strict=True)
