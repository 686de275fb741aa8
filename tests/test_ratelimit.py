"""The shared attempt counter: one atomic count-and-record, across threads and processes."""

from __future__ import annotations

import functools
import time

import pytest
from conftest import at_once, refuse_sqlite_writes

from debrief.ratelimit import Limiter
from debrief.sqlitefile import Unavailable


@pytest.fixture
def path(tmp_path):
    return tmp_path / "ratelimit.sqlite"


def test_an_attempt_is_refused_once_any_of_its_keys_is_at_the_limit(path):
    limiter = Limiter(path)
    for _ in range(3):
        assert limiter.attempt(["acct:a", "addr:1"], 3, 60) is not None
    assert limiter.attempt(["acct:b", "addr:1"], 3, 60) is None  # the address is at the limit
    assert limiter.attempt(["acct:a", "addr:2"], 3, 60) is None  # so is the account
    assert limiter.count("acct:b", 60) == 0  # a refused attempt records nothing
    assert limiter.attempt(["acct:b", "addr:2"], 3, 60) is not None


def test_the_window_slides(path):
    limiter = Limiter(path)
    assert limiter.attempt(["k"], 1, 0.2) is not None
    assert limiter.attempt(["k"], 1, 0.2) is None
    time.sleep(0.25)
    assert limiter.attempt(["k"], 1, 0.2) is not None


def test_withdraw_takes_back_one_attempt_and_reset_forgets_a_key(path):
    limiter = Limiter(path)
    first = limiter.attempt(["acct", "addr"], 5, 60)
    limiter.attempt(["acct", "addr"], 5, 60)
    limiter.withdraw(["addr"], first)
    assert (limiter.count("acct", 60), limiter.count("addr", 60)) == (2, 1)
    limiter.reset("acct")
    assert (limiter.count("acct", 60), limiter.count("addr", 60)) == (0, 1)


def test_concurrent_attempts_never_pass_the_limit(path):
    # A Limiter per thread: each has its own connection, as each worker process has.
    limiters = [Limiter(path) for _ in range(40)]
    passed = at_once([functools.partial(lim.attempt, ["acct:rep"], 5, 60) for lim in limiters])
    assert len([at for at in passed if at is not None]) == 5
    assert Limiter(path).count("acct:rep", 60) == 5


@pytest.mark.parametrize("how", ["full", "read-only"])
def test_an_attempt_that_cannot_be_recorded_raises_unavailable(path, monkeypatch, how):
    if how == "read-only":
        Limiter(path).attempt(["k"], 5, 60)  # the file exists; then the disk turns read-only
    refuse_sqlite_writes(monkeypatch, path, how)
    with pytest.raises(Unavailable) as caught:
        Limiter(path).attempt(["k"], 5, 60)
    assert isinstance(caught.value, OSError)  # the error pages answer 503, never a 500
    assert ("disk is full" if how == "full" else "readonly") in str(caught.value)


def test_withdraw_takes_back_one_attempt_when_two_share_a_time(path, monkeypatch):
    """Two attempts in the same clock tick: a sign-in withdraws its own, not the other's too."""
    limiter = Limiter(path)
    monkeypatch.setattr(time, "time", lambda: 1_700_000_000.5)
    first = limiter.attempt(["addr"], 5, 60)
    second = limiter.attempt(["addr"], 5, 60)
    assert first == second
    limiter.withdraw(["addr"], first)
    assert limiter.count("addr", 60) == 1
