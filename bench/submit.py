"""Submitting a prospect's answer through the app, against raw SQLite inserts of the same record.

Each sample is one POST /s/<token> through the Flask test client, with the CSRF token read from
the form page first (not timed): the answer stored, its entry file written and indexed, the rep's
notice queued (sent after the response by the notices thread; every one is checked to have been
sent before the figure counts). The reference is what a user might reach for instead: one
INSERT + commit per answer into a SQLite table with the same fields, holding as many answers.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time

from bench import prepare
from bench.client import make_app
from bench.figures import Figure, median_p95, ms
from bench.formdata import answer_form, claim_count, csrf_from
from bench.run import Run, label
from debrief.store import get_store
from debrief.survey import notices

TARGET_MS = 15.0
FIELDS = (
    "deal_id", "invitation_id", "outcome", "competitor", "reason", "reasons", "own_words",
    "claims", "would_change", "trust", "attribution", "name", "company", "may_contact",
    "submitted", "entry_slug",
)  # fmt: skip


def app_samples(run: Run, size: int, count: int) -> list[float]:
    """Seconds per answer POST at this size."""
    app = make_app(run.workspace(size))
    tokens = prepare.open_links(app, count + 3, seed=size)
    client = app.test_client()
    rng = random.Random(size)
    samples = []
    for n, token in enumerate(tokens):
        page = client.get(f"/s/{token}").get_data(as_text=True)
        data = answer_form(rng, csrf_from(page), claim_count(page))
        start = time.perf_counter()
        response = client.post(f"/s/{token}", data=data)
        elapsed = time.perf_counter() - start
        if response.status_code != 302:
            raise RuntimeError(f"answer POST gave HTTP {response.status_code}")
        if n >= 3:  # the first answers warm up caches: not recorded
            samples.append(elapsed)
    if not notices.wait(30):
        raise RuntimeError("the reps' notices were not sent within 30 s")
    with app.app_context():
        waiting = get_store().table("answers").search(lambda r: r.get("rep_notified", 1) is None)
    if waiting:
        raise RuntimeError(f"{len(waiting)} answers have no rep notice")
    return samples


def sqlite_samples(run: Run, size: int, count: int) -> list[float]:
    """Seconds per INSERT + commit of the same answer records into raw SQLite."""
    space = run.workspace(size)
    with make_app(space).app_context():
        answers = get_store().table("answers").all()
    path = space.root / "reference.sqlite"
    path.unlink(missing_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)  # defaults: rollback journal, FULL sync
    conn.execute(f"CREATE TABLE answers (id INTEGER PRIMARY KEY, {', '.join(FIELDS)})")
    marks = ", ".join("?" * len(FIELDS))
    insert = f"INSERT INTO answers ({', '.join(FIELDS)}) VALUES ({marks})"  # noqa: S608

    def row(answer: dict) -> tuple:
        return tuple(
            json.dumps(v) if isinstance(v, list | dict) else v
            for v in (answer.get(f) for f in FIELDS)
        )

    conn.execute("BEGIN")
    conn.executemany(insert, [row(a) for a in answers])  # the same history as the store
    conn.execute("COMMIT")
    samples = []
    for n in range(count):
        record = row(answers[n % len(answers)])
        start = time.perf_counter()
        conn.execute("BEGIN")
        conn.execute(insert, record)
        conn.execute("COMMIT")
        samples.append(time.perf_counter() - start)
    conn.close()
    return samples


def measure(run: Run) -> list[Figure]:
    """Answer submits at every size; the largest must stay <= 15 ms and <= 2x the smallest."""
    count = run.n(150)
    figures = []
    baseline = None
    for size in sorted(run.sizes):
        median, p95 = median_p95(ms(app_samples(run, size, count)))
        ref, _ = median_p95(ms(sqlite_samples(run, size, count)))
        figure = Figure(
            what=f"submit an answer, {label(size)} deals",
            target=f"median <= {TARGET_MS:g} ms" + (", <= 2x the 1k median" if baseline else ""),
            unit="ms",
            median=median,
            p95=p95,
            reference="raw SQLite INSERT + commit",
            ref_median=ref,
            samples=count,
        )
        if baseline is None:
            baseline = median
            figure.met = median <= TARGET_MS
        else:
            figure.met = median <= TARGET_MS and median <= 2 * baseline
            figure.notes.append(f"{median / baseline:.2f}x the {label(run.small)} median")
        figures.append(figure)
    return figures
