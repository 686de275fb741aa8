"""Reading every entry file for a rebuild (debrief/index/reading.py), in worker processes too."""

import logging
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from debrief.index import KnowledgeBase, reading


@pytest.fixture
def entries_dir(tmp_path) -> Path:
    """23 files over 3 folders: lessons, a note with no header, a duplicate slug, a binary."""
    root = tmp_path / "entries"
    for n in range(20):
        folder = root / f"2026-{1 + n % 3:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"lesson-{n}.md").write_text(
            f"---\nTitle: Lesson {n}\nDate: 2026-01-{1 + n % 28:02d}\nKind: lesson\n---\n\n"
            f"Pricing note number {n}.\n"
        )
    (root / "2026-01" / "plain.md").write_text("# A plain note\n\nNo header at all.\n")
    (root / "2026-02" / "lesson-3.md").write_text((root / "2026-01" / "lesson-3.md").read_text())
    (root / "2026-03" / "binary.md").write_bytes(b"\x00\xff\x00")
    return root


def test_workers_read_the_files_as_one_process_does(entries_dir, monkeypatch, caplog):
    monkeypatch.setattr(reading, "PARALLEL_FROM", 10**9)
    alone = reading.read_all(entries_dir)
    pools = []

    class Recorded(ProcessPoolExecutor):
        def __init__(self, *args, **kwargs):
            pools.append(args)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(reading, "ProcessPoolExecutor", Recorded)
    monkeypatch.setattr(reading, "PARALLEL_FROM", 1)
    monkeypatch.setattr(reading, "CHUNK", 4)  # several tasks, results taken in order
    progress = []
    with caplog.at_level(logging.WARNING, logger="debrief.index.reading"):
        together = reading.read_all(entries_dir, lambda done, total: progress.append(total))
    assert pools and not caplog.records  # the workers did the parsing
    assert together == alone
    rows, problems, _ = together
    assert len(rows) == 21 and progress[-1] == 23
    reasons = sorted(p[1] for p in problems)
    assert len(reasons) == 2 and reasons[1] == "duplicate slug 'lesson-3': 2026-01/lesson-3.md"


def test_workers_that_fail_leave_the_rest_to_this_process(entries_dir, monkeypatch, caplog):
    monkeypatch.setattr(reading, "PARALLEL_FROM", 10**9)
    alone = reading.read_all(entries_dir)

    class Failing(ProcessPoolExecutor):
        def map(self, *args, **kwargs):
            results = super().map(*args, **kwargs)
            yield next(results)  # one slice parsed, then the pool breaks
            raise BrokenProcessPool("a worker was killed")

    monkeypatch.setattr(reading, "ProcessPoolExecutor", Failing)
    monkeypatch.setattr(reading, "PARALLEL_FROM", 1)
    monkeypatch.setattr(reading, "CHUNK", 4)
    with caplog.at_level(logging.WARNING, logger="debrief.index.reading"):
        assert reading.read_all(entries_dir) == alone
    assert "workers failed" in caplog.text


def test_a_rebuild_with_workers_finds_every_entry(tmp_path, entries_dir, monkeypatch):
    monkeypatch.setattr(reading, "PARALLEL_FROM", 1)
    kb = KnowledgeBase(tmp_path / "index.sqlite3", entries_dir)
    try:
        kb.rebuild()
        assert kb.search("pricing").total == 20  # lesson-3 twice: the second is a problem
        assert kb.search("plain").total == 1
        assert len(kb.problems()[0]) == 2
    finally:
        kb.index.close()
