"""`python -m bench [--sizes 1000,50000] [--only search,rebuild,...] [--report BENCHMARKS.md]`."""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback
from pathlib import Path

import click

from bench import dashboard, dataset, rebuild, report, search, server, submit
from bench.figures import Figure
from bench.run import WORK_ROOT, Run

# In this order: the read-only measurements first, then those that add answers and entries.
MEASUREMENTS = {
    "rebuild": rebuild.measure,
    "search": search.measure,
    "dashboard": dashboard.measure,
    "submit": submit.measure,
    "startup": server.startup,
    "throughput": server.throughput,
}


def _list(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def run_all(run: Run, only: list[str], echo=click.echo) -> list[Figure]:
    """Every chosen measurement; one that fails becomes a missed row, the others still run."""
    figures: list[Figure] = []
    for name, measure in MEASUREMENTS.items():
        if name not in only:
            continue
        echo(f"== {name}")
        started = time.perf_counter()
        try:
            found = measure(run)
        except Exception as exc:  # a broken feature must not hide the other figures
            traceback.print_exc()
            found = [Figure(what=name, target="runs", unit="", median=float("nan"), met=False,
                            notes=[f"failed: {exc!r}"])]  # fmt: skip
        report.print_figures(found, echo)
        echo(f"   ({time.perf_counter() - started:.0f} s)")
        figures += found
    return figures


@click.command()
@click.option("--sizes", default="1000,50000", show_default=True, help="Data set sizes (deals).")
@click.option(
    "--only",
    default=",".join(MEASUREMENTS),
    show_default=True,
    help="Measurements to run, comma-separated.",
)
@click.option("--scale", default=1.0, show_default=True, help="Multiply repetition counts.")
@click.option("--build-only", is_flag=True, help="Build (or check) the cached data sets and stop.")
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the figures into this file (BENCHMARKS.md) between its markers.",
)
@click.option("--keep", is_flag=True, help="Keep the workspaces in bench/out/ for a look.")
def main(
    sizes: str, only: str, scale: float, build_only: bool, report_path: Path | None, keep: bool
) -> None:
    """Build the benchmark data sets (cached in bench/data/) and measure SPEC section 4."""
    # One INFO line per outbox mail would bury the figures (set here, not where tests import).
    logging.getLogger("debrief").setLevel(logging.WARNING)
    chosen = _list(only)
    unknown = set(chosen) - set(MEASUREMENTS)
    if unknown:
        raise click.BadParameter(f"unknown: {', '.join(sorted(unknown))}", param_hint="--only")
    try:
        size_list = sorted({int(s) for s in _list(sizes)})
    except ValueError:
        raise click.BadParameter(
            "give whole numbers, e.g. 1000,50000", param_hint="--sizes"
        ) from None
    for size in size_list:
        started = time.perf_counter()
        built = dataset.ensure(size)
        click.echo(f"data set {size}: {built.manifest} ({time.perf_counter() - started:.0f} s)")
    if build_only:
        return
    run = Run(sizes=size_list, scale=scale)
    before = report.load()
    try:
        figures = run_all(run, chosen)
    finally:
        if not keep:
            run.cleanup()
    after = report.load()
    WORK_ROOT.mkdir(exist_ok=True)
    (WORK_ROOT / "results.json").write_text(
        json.dumps([f.as_dict() for f in figures], indent=2, default=str)
    )
    if report_path:
        command = "python -m bench " + " ".join(sys.argv[1:])
        report.write(report_path, figures, command.strip(), (before, after))
        click.echo(f"Figures written to {report_path}")
    missed = [f.what for f in figures if f.met is False]
    click.echo(f"{len(figures) - len(missed)} of {len(figures)} figures meet their target.")
    if missed:
        click.echo("Missed: " + "; ".join(missed))


if __name__ == "__main__":
    main()
