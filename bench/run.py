"""One benchmark run: which sizes, how many repetitions, and a private workspace per size."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from bench import dataset
from bench.dataset import Dataset

WORK_ROOT = Path(__file__).resolve().parent / "out"


@dataclass
class Run:
    """Settings shared by every measurement of one `python -m bench` invocation."""

    sizes: list[int]
    scale: float = 1.0  # multiplies every repetition count (the smoke test uses a tiny one)
    data_root: Path = dataset.DATA_ROOT
    work_root: Path = WORK_ROOT
    quiet: bool = False
    _spaces: dict[int, Dataset] = field(default_factory=dict)

    @property
    def big(self) -> int:
        """The largest size: the one the single-size targets (search, dashboard...) use."""
        return max(self.sizes)

    @property
    def small(self) -> int:
        """The smallest size: the baseline of the submit measurement."""
        return min(self.sizes)

    def n(self, base: int) -> int:
        """A repetition count scaled for this run (at least 1)."""
        return max(1, round(base * self.scale))

    def workspace(self, size: int) -> Dataset:
        """The private copy of the data set of `size` deals (built and copied on first use)."""
        if size not in self._spaces:
            built = dataset.ensure(size, self.data_root, quiet=self.quiet)
            # One folder per run: two runs at once (or a test beside a run) never share a copy.
            folder = self.work_root / f"run-{os.getpid()}" / str(size)
            self._spaces[size] = dataset.workspace(built, folder)
        return self._spaces[size]

    def cleanup(self) -> None:
        """Remove the workspaces (the cached data sets stay)."""
        for space in self._spaces.values():
            shutil.rmtree(space.root.parent, ignore_errors=True)
        self._spaces.clear()


def label(size: int) -> str:
    """1000 -> '1k', 50000 -> '50k'."""
    return f"{size // 1000}k" if size >= 1000 and size % 1000 == 0 else str(size)
