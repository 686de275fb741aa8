"""Smoke test of the benchmark harness: a 50-deal data set, every measurement once, tiny counts.

No timing assertions (SPEC 4 targets are checked by `python -m bench`, not by tests): this
checks that the data set is what it claims and that every measurement runs and reports.
"""

from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner

from bench import dataset, report
from bench.__main__ import MEASUREMENTS, main, run_all
from bench.figures import Figure, median_p95
from bench.run import Run
from debrief.entries import iter_entries
from debrief.index import KnowledgeBase
from debrief.store import Store


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A 50-deal data set, built once for this module."""
    return dataset.ensure(50, tmp_path_factory.mktemp("bench-data"), quiet=True)


def test_data_set_holds_what_its_manifest_says(built):
    store = Store(built.data_dir / "db")
    assert store.table("deals").count() == 50
    assert store.table("answers").count() == built.manifest["answers"] > 0
    files = list(iter_entries(built.entries_dir))
    assert len(files) == built.manifest["entries"]
    assert all(not isinstance(f, Exception) for f in files)
    kb = KnowledgeBase(built.data_dir / "index.sqlite", built.entries_dir)
    assert kb.entry_count() == built.manifest["entries"]
    # Every answer points at its entry, and anonymous ones name no deal or company in the file.
    slugs = {f.slug: f for f in files}
    for answer in store.table("answers").all():
        entry = slugs[answer["entry_slug"]]
        if answer["attribution"] == "anonymous":
            assert entry.deal is None and entry.company is None
        else:
            assert entry.deal == answer["deal_id"]


def test_cached_data_set_is_reused(built):
    again = dataset.ensure(50, built.root.parent, quiet=True)
    assert again.manifest == built.manifest


def test_workspace_leaves_the_cached_data_set_alone(built, tmp_path):
    space = dataset.workspace(built, tmp_path / "ws")
    copy = next(space.entries_dir.rglob("*.md"))
    copy.unlink()
    assert (built.entries_dir / copy.relative_to(space.entries_dir)).is_file()


def test_every_measurement_runs_and_reports(built, tmp_path, capsys):
    run = Run(sizes=[50], scale=0.001, data_root=built.root.parent, work_root=tmp_path, quiet=True)
    figures = run_all(run, list(MEASUREMENTS), echo=print)
    run.cleanup()
    out = capsys.readouterr().out
    failed = [f.notes for f in figures if any("failed" in n for n in f.notes)]
    assert not failed
    firsts = {f.what.split(",")[0].split(" ")[0] for f in figures}
    assert firsts >= {"submit", "search", "dashboard", "rebuild", "start", "resident"}
    assert firsts & {"gunicorn", "waitress"}  # the throughput figure, named by its server
    for figure in figures:
        assert math.isfinite(figure.median) and figure.median > 0, figure
        assert figure.what in out
    references = [f for f in figures if f.reference]
    assert references and all(f.ratio is not None for f in references)


def test_report_replaces_only_its_own_block(tmp_path):
    path = tmp_path / "BENCHMARKS.md"
    path.write_text("# Benchmarks\n\nWritten by hand.\n")
    first = [Figure("search", "median <= 10 ms", "ms", 4.0, 9.0, "grep", 400.0, True)]
    report.write(path, first, "python -m bench", ("0.1", "0.2"))
    second = [Figure("search", "median <= 10 ms", "ms", 12.0, 31.0, "grep", 400.0, False)]
    report.write(path, second, "python -m bench", ("0.1", "0.2"))
    text = path.read_text()
    assert text.startswith("# Benchmarks\n\nWritten by hand.\n")
    assert text.count(report.BEGIN) == 1
    assert "**NO**" in text and "0.03x" in text and "| yes |" not in text


def test_unknown_measurement_is_refused():
    result = CliRunner().invoke(main, ["--only", "search,warp-speed"])
    assert result.exit_code == 2
    assert "warp-speed" in result.output


@pytest.mark.parametrize(
    ("samples", "expected"),
    [([5.0], (5.0, 5.0)), ([1.0, 2.0, 3.0], (2.0, 2.9)), (list(range(1, 101)), (50.5, 95.05))],
)
def test_median_and_p95(samples, expected):
    median, p95 = median_p95([float(s) for s in samples])
    assert median == pytest.approx(expected[0]) and p95 == pytest.approx(expected[1])


def test_results_are_json(built):
    figure = Figure("x", "t", "ms", 1.0, reference="r", ref_median=2.0)
    assert json.loads(json.dumps(figure.as_dict()))["ratio"] == 0.5
