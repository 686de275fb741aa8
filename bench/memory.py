"""Where a server process's memory goes: `python -m bench.memory [--size 250000]`.

One process does what a server worker does (the app over a workspace of the data set, a rep's 50
first-time searches, a manager's dashboard views) and prints its resident memory after each step,
with what Python holds at the end grouped by the module that allocated it (tracemalloc). Memory
that no Python module holds (SQLite's page caches, the interpreter, shared libraries) is the
resident figure less Python's total. Figures: BENCHMARKS.md, "Where the memory goes".
"""

from __future__ import annotations

import gc
import os
import shutil
import tracemalloc
from collections import Counter
from pathlib import Path

import click

from bench import dataset
from bench.client import make_app, signed_in
from bench.dataset import manager_email, rep_email
from bench.run import WORK_ROOT
from bench.server import rss_mb
from bench.text import SEARCHES


def _grouped(snapshot: tracemalloc.Snapshot, top: int) -> list[tuple[str, float]]:
    """MB held per source module (a debrief or bench module by name, a library by package)."""
    sizes: Counter = Counter()
    for stat in snapshot.statistics("filename"):
        name = stat.traceback[0].filename
        if "/debrief/" in name:
            key = "debrief/" + name.split("/debrief/", 1)[1]
        elif "site-packages/" in name:
            key = name.split("site-packages/", 1)[1].split("/", 1)[0]
        else:
            key = "python: " + Path(name).name
        sizes[key] += stat.size / 2**20
    return sizes.most_common(top)


@click.command()
@click.option("--size", default=250_000, show_default=True, help="Data set size (deals).")
@click.option("--top", default=12, show_default=True, help="How many modules to list.")
@click.option("--trace/--no-trace", default=True, help="Group Python's memory by module.")
def main(size: int, top: int, trace: bool) -> None:
    """Print resident memory after each step of a worker's day, and Python's share by module."""
    built = dataset.ensure(size)
    folder = WORK_ROOT / f"memory-{os.getpid()}"
    try:  # the workspace is a copy of the data set (gigabytes at 250k): never left behind
        _day(dataset.workspace(built, folder / str(size)), size, top, trace)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _day(space: dataset.Dataset, size: int, top: int, trace: bool) -> None:
    """main() over a workspace."""
    steps: list[tuple[str, float]] = [("interpreter and imports", rss_mb(os.getpid()))]
    if trace:
        tracemalloc.start()
    app = make_app(space)
    rep = signed_in(app, rep_email(0))
    steps.append(("app created, a rep signed in", rss_mb(os.getpid())))
    for q in SEARCHES:
        rep.get("/kb", query_string={"q": q})
    steps.append((f"{len(SEARCHES)} searches, each once", rss_mb(os.getpid())))
    manager = signed_in(app, manager_email())
    for _ in range(6):
        manager.get("/dashboard")
    steps.append(("6 dashboard views", rss_mb(os.getpid())))
    for q in SEARCHES:
        rep.get("/kb", query_string={"q": q, "page": 2})
    gc.collect()
    steps.append(("second pages of the 50 searches", rss_mb(os.getpid())))
    click.echo(
        f"{size} deals, {space.manifest.get('entries')} entries"
        + (
            " (tracemalloc on: it adds its own bookkeeping to the resident figures)"
            if trace
            else ""
        )
    )
    previous = 0.0
    for what, mb in steps:
        click.echo(f"  {what:<36} {mb:7.0f} MB  (+{mb - previous:.0f})")
        previous = mb
    if trace:
        snapshot = tracemalloc.take_snapshot()
        total = sum(stat.size for stat in snapshot.statistics("filename")) / 2**20
        click.echo(f"Python objects held at the end: {total:.0f} MB, by the module that made them:")
        for name, mb in _grouped(snapshot, top):
            click.echo(f"  {name:<44} {mb:7.1f} MB")
        click.echo(f"Not Python objects (SQLite caches, interpreter, libraries): "
                   f"{steps[-1][1] - total:.0f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
