"""Load: gunicorn with three worker processes of four threads; 50 buyers answer at once while
reps write lessons; every acknowledged answer and lesson is stored exactly once, in the store,
in the entry files and in the search index."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from server import (
    REPS,
    Server,
    Tally,
    answer,
    check_acknowledged,
    index_slugs,
    prepare,
    write_lessons,
)

BUYERS = 50  # at once
LINKS = 800  # request budget: one answer per link
DEADLINE = 30.0  # seconds of load at most
LESSONS_PER_REP = 150


@pytest.mark.slow
@pytest.mark.timeout(150)
def test_fifty_buyers_and_three_reps_at_once_lose_nothing_and_store_nothing_twice(tmp_path):
    site = prepare(tmp_path, LINKS)
    server = Server(site, workers=3, threads=4)
    tally, stop = Tally(), threading.Event()
    try:
        reps = [
            threading.Thread(
                target=write_lessons, args=(server.url, e, tally, stop, LESSONS_PER_REP)
            )
            for e in REPS
        ]
        for rep in reps:
            rep.start()
        started = time.monotonic()
        with ThreadPoolExecutor(BUYERS) as pool:
            futures = []
            for token in site.tokens:
                futures.append(pool.submit(answer, server.url, token, tally))
            for future in futures:
                future.result(timeout=max(1.0, DEADLINE + 30 - (time.monotonic() - started)))
                if time.monotonic() - started > DEADLINE:
                    for rest in futures:
                        rest.cancel()  # the deadline: buyers not started yet never start
                    break
        stop.set()
        for rep in reps:
            rep.join(timeout=30)
    finally:
        server.stop()
    assert tally.server_errors == [], tally.server_errors[:5]
    assert len(tally.answers) >= BUYERS, f"only {len(tally.answers)} answers acknowledged"
    assert len(tally.lessons) >= len(REPS), f"only {len(tally.lessons)} lessons acknowledged"
    print(f"load: {len(tally.answers)} answers, {len(tally.lessons)} lessons acknowledged")
    check_acknowledged(site, tally, index_slugs(site))
