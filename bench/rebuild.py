"""Rebuilding the search index from every entry file of the largest data set."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from bench.figures import Figure, median_p95
from bench.run import Run, label
from debrief.index import KnowledgeBase

TARGET_S = {50_000: 60.0, 250_000: 120.0}  # SPEC 4: up to this many entries, at most so many s


def target(size: int) -> float:
    """The rebuild target at a size (the smallest row at or above it)."""
    return next((s for top, s in sorted(TARGET_S.items()) if size <= top), max(TARGET_S.values()))


def read_all_seconds(entries_dir: Path) -> float:
    """The floor any rebuild stands on: reading every entry file once (find -exec cat)."""
    start = time.perf_counter()
    subprocess.run(
        ["find", str(entries_dir), "-name", "*.md", "-exec", "cat", "{}", "+"],
        stdout=subprocess.DEVNULL,
        check=True,
    )
    return time.perf_counter() - start


def measure(run: Run) -> list[Figure]:
    """KnowledgeBase.rebuild() into a new index file, a few times; the reference is `cat` of all."""
    space = run.workspace(run.big)
    samples = []
    for n in range(run.n(3)):
        path = space.root / f"rebuild-{n}.sqlite"
        kb = KnowledgeBase(path, space.entries_dir)
        start = time.perf_counter()
        problems = kb.rebuild()
        samples.append(time.perf_counter() - start)
        count = kb.entry_count()
        kb.close()
        for leftover in space.root.glob(f"rebuild-{n}.sqlite*"):
            leftover.unlink()
    median, p95 = median_p95(samples)
    reference, _ = median_p95([read_all_seconds(space.entries_dir) for _ in range(3)])
    figure = Figure(
        what=f"rebuild the index, {label(run.big)} entry files",
        target=f"<= {target(run.big):g} s",
        unit="s",
        median=median,
        p95=p95 if len(samples) > 1 else None,
        reference="read every file (find -exec cat)",
        ref_median=reference,
        met=max(samples) <= target(run.big),
        samples=len(samples),
    )
    figure.notes.append(f"{count} entries indexed, {len(problems)} problems")
    return [figure]
