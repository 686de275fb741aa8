"""The managers' dashboard at the largest size: GET /dashboard, signed in as a manager."""

from __future__ import annotations

import datetime
import time

from bench.client import make_app, signed_in
from bench.dataset import manager_email
from bench.figures import Figure, median_p95, ms, timed
from bench.run import Run, label
from debrief.entries import Entry
from debrief.kb import service as kb

TARGET_MS = 200.0


def measure(run: Run) -> list[Figure]:
    """The first view (cold caches), the following ones, and the first view after a change."""
    app = make_app(run.workspace(run.big))
    client = signed_in(app, manager_email())

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
    figure.notes.append(f"first view in a new app, the data folder's first ever: {first:.0f} ms")
    figure.notes.append(f"first view in a new app after that: {_first_view(run):.0f} ms")
    return [figure, _after_change(run, app, view)]


def _first_view(run: Run) -> float:
    """A second app over the same folder: what a restarted server's first dashboard costs."""
    client = signed_in(make_app(run.workspace(run.big)), manager_email())
    start = time.perf_counter()
    response = client.get("/dashboard")
    if response.status_code != 200:
        raise RuntimeError(f"/dashboard gave HTTP {response.status_code}")
    return (time.perf_counter() - start) * 1000


def _after_change(run: Run, app, view) -> Figure:
    """The view right after one lesson is published: every cached dashboard is stale then."""
    changed = []
    for i in range(run.n(10)):
        with app.app_context():
            kb.publish(
                Entry(
                    kind="lesson",
                    title=f"Bench lesson {i}",
                    date=datetime.date.today(),
                    body="Follow up within a week, and name the budget owner early.",
                    rep=manager_email(),
                    themes=["follow-up"],
                )
            )
        start = time.perf_counter()
        view()
        changed.append((time.perf_counter() - start) * 1000)
    median, p95 = median_p95(changed)
    return Figure(
        what=f"dashboard, {label(run.big)} entries, first view after an entry is added",
        target=f"<= {TARGET_MS:g} ms",
        unit="ms",
        median=median,
        p95=p95,
        met=p95 <= TARGET_MS,
        samples=len(changed),
    )
