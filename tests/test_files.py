"""debrief.files: atomic writes, new files that never overwrite, the walk, the lock, the sweep."""

from __future__ import annotations

import errno
import multiprocessing
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from debrief import files


def test_atomic_write_replaces_the_whole_file(tmp_path):
    target = tmp_path / "state.json"
    target.write_bytes(b"old")
    files.atomic_write(target, b"new content", fsync_folder=True)
    assert target.read_bytes() == b"new content"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_a_failed_atomic_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "state.json"
    target.write_bytes(b"old")

    def full_disk(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space"):
        files.atomic_write(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_write_new_never_overwrites_and_takes_the_first_free_name(tmp_path):
    (tmp_path / "a.md").write_bytes(b"first")
    path = files.write_new(tmp_path, ["a.md", "b.md", "c.md"], b"second", hint="a")
    assert path == tmp_path / "b.md"
    assert (tmp_path / "a.md").read_bytes() == b"first"
    assert path.read_bytes() == b"second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.md", "b.md"]


def test_write_new_with_every_name_taken_fails_and_leaves_nothing(tmp_path):
    (tmp_path / "a.md").write_bytes(b"first")
    with pytest.raises(FileExistsError):
        files.write_new(tmp_path, ["a.md"], b"second")
    assert [p.name for p in tmp_path.iterdir()] == ["a.md"]


def test_concurrent_writers_of_one_name_each_get_their_own_file(tmp_path):
    names = [f"n-{i}.md" for i in range(20)]
    written: list[Path] = []

    def writer(i: int) -> None:
        written.append(files.write_new(tmp_path, names, f"{i}".encode()))

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(written)) == 10
    assert sorted(p.read_text() for p in written) == sorted(str(i) for i in range(10))


def _hold_lock(path: str, held, release) -> None:
    with files.file_lock(Path(path)):
        held.set()
        release.wait(10)


@contextmanager
def _held_elsewhere(lock: Path) -> Iterator[None]:
    """Another process holds the lock for the block's duration."""
    held, release = multiprocessing.Event(), multiprocessing.Event()
    child = multiprocessing.get_context("fork").Process(
        target=_hold_lock, args=(str(lock), held, release)
    )
    child.start()
    try:
        assert held.wait(10)
        yield
    finally:
        release.set()
        child.join(10)


def test_file_lock_excludes_another_process(tmp_path):
    lock = tmp_path / "x.lock"
    got = threading.Event()

    def take() -> None:
        with files.file_lock(lock):
            got.set()

    with _held_elsewhere(lock):
        taker = threading.Thread(target=take)
        taker.start()
        assert not got.wait(0.3)  # the other process holds it
    assert got.wait(10)  # taken once the other let go
    taker.join()


def test_file_lock_without_waiting_refuses_at_once_while_another_process_holds_it(tmp_path):
    lock = tmp_path / "x.lock"
    with _held_elsewhere(lock), pytest.raises(BlockingIOError), files.file_lock(lock, wait=False):
        pass
    with files.file_lock(lock, wait=False):  # free again: taken at once
        pass


def test_scan_and_walk_leave_out_hidden_files_folders_and_symlinks(tmp_path):
    (tmp_path / "2024").mkdir()
    (tmp_path / ".git").mkdir()
    (tmp_path / "2024" / "b.md").write_text("b")
    (tmp_path / "a.md").write_text("a")
    (tmp_path / "notes.txt").write_text("n")
    (tmp_path / ".git" / "c.md").write_text("c")
    (tmp_path / "2024" / ".d.md.1234.tmp").write_text("d")
    (tmp_path / "link.md").symlink_to(tmp_path / "a.md")
    found, folders = files.scan(tmp_path)
    assert sorted(found) == ["2024/b.md", "a.md"]
    assert found["a.md"][1] == 1
    assert sorted(folders) == [".", "2024"]
    assert [p.relative_to(tmp_path).as_posix() for p in files.walk(tmp_path)] == [
        "2024/b.md",
        "a.md",
    ]
    assert len(list(files.walk(tmp_path, suffix=None))) == 3


def test_sweep_removes_only_old_temporaries(tmp_path):
    (tmp_path / "2024").mkdir()
    old = tmp_path / "2024" / ".x.abcd.tmp"
    young = tmp_path / ".y.abcd.tmp"
    old.write_text("cut off")
    young.write_text("in progress")
    moment = time.time() - 3600
    os.utime(old, (moment, moment))
    assert files.sweep_temporary(tmp_path, older_than=60) == 1
    assert not old.exists() and young.exists()


def test_a_folders_only_scan_lists_every_folder_and_no_file(tmp_path):
    (tmp_path / "2024" / "notes").mkdir(parents=True)
    (tmp_path / "2024" / "a.md").write_text("x")
    (tmp_path / "2024" / "notes" / ".b.abcd.tmp").write_text("cut off")
    found, folders = files.scan(tmp_path, list_files=False)
    assert found == {} and set(folders) == {".", "2024", "2024/notes"}
    # The sweep walks folders that way and still finds a temporary file two levels down.
    assert files.sweep_temporary(tmp_path, older_than=0) == 1
