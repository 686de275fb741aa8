"""Printing the figures, and writing them into BENCHMARKS.md between its markers."""

from __future__ import annotations

import datetime
import os
import platform
import sqlite3
from pathlib import Path

from bench.figures import Figure, fmt

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def machine() -> dict[str, str]:
    """Cores, memory, CPU model and versions of the machine running the benchmarks."""
    info = {"cores": str(len(os.sched_getaffinity(0)))}
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    for line in meminfo:
        if line.startswith("MemTotal:"):
            info["memory"] = f"{int(line.split()[1]) / 1024 / 1024:.1f} GB"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            info["cpu"] = line.split(":", 1)[1].strip()
            break
    info["python"] = platform.python_version()
    info["sqlite"] = sqlite3.sqlite_version
    return info


def load() -> str:
    """The 1, 5 and 15 minute load averages (other work on a shared machine)."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _met(figure: Figure) -> str:
    return {True: "yes", False: "**NO**", None: "–"}[figure.met]


def _ratio(figure: Figure) -> str:
    ratio = figure.ratio
    return "–" if ratio is None else f"{ratio:.3g}x"


def print_figures(figures: list[Figure], echo=print) -> None:
    """A readable block per figure on the console."""
    for f in figures:
        p95 = f" (p95 {fmt(f.p95, f.unit)})" if f.p95 is not None else ""
        ref = f"; {f.reference}: {fmt(f.ref_median, f.unit)} -> {_ratio(f)}" if f.reference else ""
        met = {True: "met", False: "MISSED", None: ""}[f.met]
        echo(f"{f.what}: {fmt(f.median, f.unit)}{p95}{ref}  [{f.target}] {met}")
        for note in f.notes:
            echo(f"    {note}")


def markdown_table(figures: list[Figure]) -> str:
    """The figures as a Markdown table (median, p95, reference, ratio, met) with notes below."""
    rows = [
        "| what | target | median | p95 | reference | reference median | ratio | met? |",
        "| --- | --- | ---: | ---: | --- | ---: | ---: | :---: |",
    ]
    for f in figures:
        p95 = fmt(f.p95, f.unit) if f.p95 is not None else "–"
        ref = fmt(f.ref_median, f.unit) if f.ref_median is not None else "–"
        rows.append(
            f"| {f.what} | {f.target} | {fmt(f.median, f.unit)} | {p95} | {f.reference or '–'}"
            f" | {ref} | {_ratio(f)} | {_met(f)} |"
        )
    notes = [f"- {f.what}: {'; '.join(f.notes)}" for f in figures if f.notes]
    return "\n".join(rows) + ("\n\nDetails:\n\n" + "\n".join(notes) if notes else "")


def write(path: Path, figures: list[Figure], command: str, loads: tuple[str, str]) -> None:
    """Replace the generated part of BENCHMARKS.md (between the markers) with this run."""
    info = machine()
    block = "\n".join(
        [
            BEGIN,
            f"Command: `{command}`  ",
            f"Date: {datetime.date.today().isoformat()}  ",
            f"Machine: {info['cores']} cores ({info.get('cpu', '?')}), {info['memory']} memory,"
            f" Python {info['python']}, SQLite {info['sqlite']}  ",
            f"Load average (1/5/15 min) before: {loads[0]}; after: {loads[1]}",
            "",
            markdown_table(figures),
            END,
        ]
    )
    text = path.read_text() if path.exists() else "# Benchmarks\n\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)
