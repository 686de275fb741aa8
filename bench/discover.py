"""Proposed themes (issue 17): quality on planted topics, speed at 5,000 untagged entries.

`python -m bench.discover [--seeds 17,1,2] [--size 5000]` prints:
- for each seed, a knowledge base of three planted topics of 20 entries each (every entry worded
  differently, bench/topics.py) among 60 unrelated entries: for each topic its best proposal's
  purity (share of the proposal's entries from the topic, target >= 70%) and coverage (share of
  the topic's entries in that proposal, target >= 60%), and the largest proposal in which
  unrelated entries are the majority (bound held: none, i.e. 0 entries);
- the computation at `size` untagged entries, as the background process runs it (wall time,
  peak memory of that process), and GET /themes/discover over that folder (target: 2 s).
"""

from __future__ import annotations

import datetime
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click

from bench import topics
from bench.client import signed_in
from bench.dataset import PASSWORD, SECRET_KEY
from bench.figures import median_p95, ms, timed
from debrief import create_app, entries
from debrief.auth import users
from debrief.index import KnowledgeBase
from debrief.store import Store
from debrief.themes import discover, proposals

PURITY, COVERAGE, UNRELATED_BOUND, PAGE_MS = 0.70, 0.60, 0, 2000.0
MANAGER = "manager@bench.test"


def quality(seed: int, root: Path) -> tuple[bool, list[str]]:
    """Planted topics against the proposals: (targets met, lines to print)."""
    planted = topics.write(root / "entries", per_topic=20, unrelated=60, seed=seed)
    kb = KnowledgeBase(root / "index.sqlite", root / "entries")
    found = discover.compute(kb)["proposals"]
    kb.close()
    lines, ok = [], True
    for topic, slugs in planted.topics.items():
        best = max(found, key=lambda p: len(set(p["slugs"]) & set(slugs)), default=None)
        shared = len(set(best["slugs"]) & set(slugs)) if best else 0
        purity = shared / len(best["slugs"]) if best else 0.0
        coverage = shared / len(slugs)
        ok &= purity >= PURITY and coverage >= COVERAGE
        name = f"'{best['name']}' ({len(best['slugs'])} entries)" if best else "none"
        lines.append(f"  {topic:<10} purity {purity:4.0%}  coverage {coverage:4.0%}  best: {name}")
    others = set(planted.unrelated)
    mostly = [len(p["slugs"]) for p in found if len(set(p["slugs"]) & others) * 2 > len(p["slugs"])]
    largest = max(mostly, default=0)
    ok &= largest <= UNRELATED_BOUND
    lines.append(f"  largest proposal made mostly of unrelated entries: {largest} entries "
                 f"(bound {UNRELATED_BOUND}); {len(found)} proposals in all")  # fmt: skip
    return ok, lines


def write_many(entries_dir: Path, size: int, seed: int = 5) -> None:
    """`size` untagged entries: the planted topics' wording for a third, mixed one-off subjects
    (two per entry, so few repeat word for word) for the rest."""
    rng = random.Random(seed)
    entries_dir.mkdir(parents=True, exist_ok=True)
    names = list(topics.TOPICS)
    today = datetime.date.today()
    for n in range(size):
        if rng.random() < 0.33:
            text = topics.topic_text(rng, rng.choice(names))
        else:
            a, b = rng.sample(range(len(topics.UNRELATED)), 2)
            text = f"{topics.unrelated_text(rng, a)} Also, {topics.UNRELATED[b]}."
        day = today - datetime.timedelta(days=rng.randrange(0, 720))
        entries.write_entry(entries_dir, topics.entry(rng, text, day, n))


def speed(size: int, root: Path) -> tuple[bool, list[str]]:
    """The background computation and the page at `size` untagged entries."""
    data_dir, entries_dir = root / "data", root / "entries"
    started = time.perf_counter()
    write_many(entries_dir, size)
    store = Store(data_dir / "db", fsync=False)
    users.add_user(store, MANAGER, "manager", PASSWORD, "Bench Manager")
    KnowledgeBase(data_dir / "index.sqlite", entries_dir).close()  # built, as a running site has
    lines = [f"  {size} entries written and indexed in {time.perf_counter() - started:.0f} s"]
    started = time.perf_counter()
    command = [sys.executable, "-m", "debrief.themes.discover", str(data_dir), str(entries_dir)]
    subprocess.run(command, check=True)
    wall = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    saved = proposals.load(data_dir) or {}
    lines.append(f"  computation (python -m debrief.themes.discover): {wall:.1f} s wall, "
                 f"{saved.get('seconds', float('nan')):.1f} s inside, peak memory {peak:.0f} MB, "
                 f"{saved.get('considered')} entries looked at, "
                 f"{len(saved.get('proposals', []))} proposals")  # fmt: skip
    app = create_app({"SECRET_KEY": SECRET_KEY, "ORG_NAME": "Bench", "DATA_DIR": str(data_dir),
                      "ENTRIES_DIR": str(entries_dir), "MAIL_URL": "outbox"})  # fmt: skip
    client = signed_in(app, MANAGER)

    def view() -> None:
        response = client.get("/themes/discover")
        if response.status_code != 200 or b"Up to date" not in response.data:
            raise RuntimeError(f"/themes/discover gave HTTP {response.status_code}")

    start = time.perf_counter()
    view()
    first = (time.perf_counter() - start) * 1000
    median, p95 = median_p95(ms(timed(view, 20, warmup=0)))
    lines.append(f"  GET /themes/discover: first {first:.0f} ms, then median {median:.0f} ms, "
                 f"p95 {p95:.0f} ms (target {PAGE_MS:g} ms)")  # fmt: skip
    return max(first, p95) <= PAGE_MS, lines


@click.command()
@click.option("--seeds", default="17,1,2", show_default=True, help="Planted data sets to try.")
@click.option("--size", default=5000, show_default=True, help="Untagged entries for the speed.")
def main(seeds: str, size: int) -> None:
    """Measure theme discovery: planted topics found, computation and page time."""
    met = True
    for seed in [int(s) for s in seeds.split(",") if s.strip() and s != "0"]:
        with tempfile.TemporaryDirectory() as folder:
            ok, lines = quality(seed, Path(folder))
        click.echo(f"planted topics, seed {seed}: {'met' if ok else 'MISSED'}")
        click.echo("\n".join(lines))
        met &= ok
    if size:
        with tempfile.TemporaryDirectory() as folder:
            ok, lines = speed(size, Path(folder))
        click.echo(f"speed at {size} untagged entries: {'met' if ok else 'MISSED'}")
        click.echo("\n".join(lines))
        met &= ok
    click.echo("every target met" if met else "some target MISSED")
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
