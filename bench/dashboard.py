"""The managers' dashboard at the largest size: GET /dashboard, signed in as a manager."""

from __future__ import annotations

import time

from bench.client import make_app, signed_in
from bench.dataset import manager_email
from bench.figures import Figure, median_p95, ms, timed
from bench.run import Run, label

TARGET_MS = 200.0


def measure(run: Run) -> list[Figure]:
    """The first view (cold caches) and the median/p95 of the following ones."""
    client = signed_in(make_app(run.workspace(run.big)), manager_email())

    def view() -> None:
        response = client.get("/dashboard")
        if response.status_code != 200:
            raise RuntimeError(f"/dashboard gave HTTP {response.status_code} {response.location}")

    start = time.perf_counter()
    view()
    first = (time.perf_counter() - start) * 1000
    samples = ms(timed(view, run.n(20), warmup=0))
    median, p95 = median_p95(samples)
    figure = Figure(
        what=f"dashboard, {label(run.big)} entries (GET /dashboard)",
        target=f"<= {TARGET_MS:g} ms",
        unit="ms",
        median=median,
        p95=p95,
        met=p95 <= TARGET_MS,
        samples=len(samples),
    )
    figure.notes.append(f"first view in a new app: {first:.0f} ms")
    return [figure]
