"""Timing helpers and the Figure: one measured row of the results table."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field


def median_p95(samples: list[float]) -> tuple[float, float]:
    """The median and the 95th percentile (inclusive method; p95 = max for tiny samples)."""
    if not samples:
        return float("nan"), float("nan")
    if len(samples) < 2:
        return samples[0], samples[0]
    return statistics.median(samples), statistics.quantiles(samples, n=20, method="inclusive")[18]


def timed(fn: Callable[[], object], times: int, warmup: int = 1) -> list[float]:
    """Seconds per call of fn, `times` calls after `warmup` unrecorded ones."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(times):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def ms(samples: list[float]) -> list[float]:
    """Seconds to milliseconds."""
    return [s * 1000 for s in samples]


@dataclass
class Figure:
    """One row: what was measured, its target, our figure, the reference and the ratio."""

    what: str
    target: str
    unit: str
    median: float
    p95: float | None = None
    reference: str = ""
    ref_median: float | None = None
    met: bool | None = None  # None: no target of its own (a reference row or a detail)
    samples: int = 1
    notes: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        """Our median over the reference median (how many times slower than the reference)."""
        if self.ref_median in (None, 0):
            return None
        return self.median / self.ref_median

    def as_dict(self) -> dict:
        """For the JSON results file."""
        return {
            "what": self.what,
            "target": self.target,
            "unit": self.unit,
            "median": self.median,
            "p95": self.p95,
            "reference": self.reference,
            "ref_median": self.ref_median,
            "ratio": self.ratio,
            "met": self.met,
            "samples": self.samples,
            "notes": self.notes,
        }


def fmt(value: float | None, unit: str) -> str:
    """A number with its unit, rounded for reading."""
    if value is None:
        return "–"
    if unit in ("ms", "s") and value < 10:
        return f"{value:.2f} {unit}"
    if value < 100:
        return f"{value:.1f} {unit}"
    return f"{value:,.0f} {unit}"
