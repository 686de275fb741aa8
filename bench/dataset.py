"""Realistic benchmark data sets: deals, invitations, answers, themes and entry files, cached.

A data set of N deals lives in bench/data/<N>/ (gitignored): data/ is a DEBRIEF_DATA_DIR (the
sharded store and the search index) and entries/ a DEBRIEF_ENTRIES_DIR. It is built once (store
records through Table.insert_many, entry files through entries.write_entry, the index through
KnowledgeBase.rebuild) and reused while its manifest matches. Measurements never touch it: they run
on a workspace() copy, so every run starts from the same state.
"""

from __future__ import annotations

import datetime
import json
import os
import random
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from bench import records, text
from debrief import entries
from debrief.auth import users
from debrief.index import SCHEMA_VERSION, KnowledgeBase
from debrief.store import STORE_FORMAT, Store
from debrief.survey.repair import save_checkpoint

# Bump when the generator changes: cached data sets are rebuilt (2: anonymous debriefs, no Deal).
VERSION = 2
DATA_ROOT = Path(__file__).resolve().parent / "data"
PASSWORD = "bench-password-1"  # every benchmark account's password
SECRET_KEY = "bench-only-secret-key"
REPS = 24
MANAGERS = 2
ANSWERED = 0.85  # share of deals whose buyer answered (each answer is one debrief entry)
LESSONS = 0.15  # lesson entries per deal, so entries ~= deals
THEMES = [
    "Roadmap promises", "Renewal pricing", "Slow onboarding", "Security reviews",
    "Incumbent loyalty", "Support coverage", "Contract lock-in", "Budget freezes",
    "Integration gaps", "Demo credibility", "Change fatigue", "Mobile experience",
]  # fmt: skip


@dataclass
class Dataset:
    """One built data set: where its folders are and what it holds."""

    root: Path
    manifest: dict[str, Any]

    @property
    def data_dir(self) -> Path:
        """The DEBRIEF_DATA_DIR of this data set."""
        return self.root / "data"

    @property
    def entries_dir(self) -> Path:
        """The DEBRIEF_ENTRIES_DIR of this data set."""
        return self.root / "entries"

    def config(self, **extra: Any) -> dict[str, Any]:
        """Settings for create_app() over this data set (production-like: not TESTING)."""
        return {
            "SECRET_KEY": SECRET_KEY,
            "ORG_NAME": "Harbourline",
            "DATA_DIR": str(self.data_dir),
            "ENTRIES_DIR": str(self.entries_dir),
            "MAIL_URL": "outbox",
            "BASE_URL": "http://127.0.0.1:5000",
            **extra,
        }

    def env(self) -> dict[str, str]:
        """The same settings as DEBRIEF_* variables, for a server process."""
        return {
            **os.environ,
            "DEBRIEF_SECRET_KEY": SECRET_KEY,
            "DEBRIEF_ORG_NAME": "Harbourline",
            "DEBRIEF_DATA_DIR": str(self.data_dir),
            "DEBRIEF_ENTRIES_DIR": str(self.entries_dir),
            "DEBRIEF_MAIL_URL": "outbox",
        }


def rep_email(n: int) -> str:
    """The address of benchmark rep number n (0-based)."""
    return f"rep{n:02d}@bench.test"


def manager_email(n: int = 0) -> str:
    """The address of benchmark manager number n."""
    return f"manager{n}@bench.test"


def ensure(size: int, root: Path = DATA_ROOT, quiet: bool = False) -> Dataset:
    """The cached data set of `size` deals, built first if missing or out of date."""
    target = root / str(size)
    manifest_path = target / "manifest.json"
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("version") == VERSION and manifest.get("deals") == size:
            if manifest.get("index_schema") != SCHEMA_VERSION:
                manifest = _reindex(target, manifest, quiet)
            if manifest.get("store_format") != STORE_FORMAT:
                manifest = _upgrade_store(target, manifest, quiet)
            if not manifest.get("settled"):
                manifest = _settle(target, manifest)
            return Dataset(target, manifest)
    building = root / f".{size}.building"
    shutil.rmtree(building, ignore_errors=True)
    shutil.rmtree(target, ignore_errors=True)
    manifest = build(size, building, quiet=quiet)
    building.rename(target)  # a half-built data set is never mistaken for a finished one
    return Dataset(target, manifest)


def _reindex(target: Path, manifest: dict[str, Any], quiet: bool) -> dict[str, Any]:
    """Rebuild a cached data set's index made by another index schema (the files stay)."""
    # Measuring on an index the app would have to rebuild first measures nothing real (a first
    # pass searched an emptied index: 0 hits where grep found thousands of files).
    started = time.perf_counter()
    data = Dataset(target, manifest)
    if not quiet:
        click.echo(f"data set {manifest.get('deals')}: index schema changed, rebuilding the index")
    kb = KnowledgeBase(data.data_dir / "index.sqlite", data.entries_dir)  # rebuilds on open
    problems, _ = kb.problems()
    kb.close()
    manifest = {**manifest, "index_schema": SCHEMA_VERSION, "problems": len(problems)}
    manifest["reindex_seconds"] = round(time.perf_counter() - started, 1)
    (target / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest


def _upgrade_store(target: Path, manifest: dict[str, Any], quiet: bool) -> dict[str, Any]:
    """Rewrite a cached data set's store files in the current format, as `debrief init` does."""
    data = Dataset(target, manifest)
    rewritten = Store(data.data_dir / "db").upgrade()
    if not quiet:
        click.echo(f"data set {manifest.get('deals')}: {rewritten} store files rewritten")
    manifest = {**manifest, "store_format": STORE_FORMAT}
    (target / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest


def _settle(target: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """Record a cached data set's answers as having their entries (built before build() did)."""
    store = Store(Dataset(target, manifest).data_dir / "db")
    save_checkpoint(store, max((r["id"] for r in store.table("answers").all()), default=0))
    manifest = {**manifest, "settled": True}
    (target / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest


def workspace(dataset: Dataset, dest: Path) -> Dataset:
    """A private copy to measure on (entry and shard files hard-linked: they are only replaced)."""

    def link_or_copy(src: str, dst: str) -> None:
        # Entry files and store shards are only ever replaced by rename, so a link is safe;
        # the store's state file (pwrite) and the SQLite index are changed in place: copied.
        if src.endswith((".md", ".json")) and not src.endswith("manifest.json"):
            try:
                os.link(src, dst)
                return
            except OSError:
                pass
        shutil.copy2(src, dst)

    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(dataset.root, dest, copy_function=link_or_copy)
    return Dataset(dest, dict(dataset.manifest))


def _bar(items, label: str, quiet: bool, length: int | None = None):
    """A click progress bar (or a silent stand-in)."""
    if quiet:
        return _Silent(items)
    return click.progressbar(items, length=length, label=label.ljust(24), show_pos=True)


class _Silent:
    """The progress-bar interface without output."""

    def __init__(self, items):
        self.items = items

    def __enter__(self):
        return self.items if self.items is not None else self

    def __exit__(self, *exc):
        return False

    def update(self, n: int, current_item=None) -> None:
        """Ignore progress."""


def build(size: int, root: Path, quiet: bool = False) -> dict[str, Any]:
    """Build a data set of `size` deals in root; returns its manifest."""
    started = time.perf_counter()
    rng = random.Random(size)  # deterministic: the same size always gives the same data
    today = datetime.date.today()
    data_dir, entries_dir = root / "data", root / "entries"
    entries_dir.mkdir(parents=True)
    # No fsync while building: a crash here just means building again.
    store = Store(data_dir / "db", fsync=False)
    reps = [
        users.add_user(store, rep_email(i), "rep", PASSWORD, text.person(rng)) for i in range(REPS)
    ]
    for i in range(MANAGERS):
        users.add_user(store, manager_email(i), "manager", PASSWORD, text.person(rng))
    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    theme_slugs = [entries.slugify(t) for t in THEMES]
    store.table("themes").insert_many(
        [
            {
                "slug": entries.slugify(t),
                "name": t,
                "description": f"Losses about {t.lower()}.",
                "created": now,
            }
            for t in THEMES
        ]  # fmt: skip
    )

    deals = [records.deal(rng, i, reps, today) for i in range(size)]
    rep_emails = {r["id"]: r["email"] for r in reps}
    deal_ids = [i for i, _ in store.table("deals").insert_many(deals)]
    answered = [rng.random() < ANSWERED for _ in deals]
    invitations = [
        records.invitation(d, did, ok) for d, did, ok in zip(deals, deal_ids, answered, strict=True)
    ]
    inv_ids = [i for i, _ in store.table("invitations").insert_many(invitations)]
    store.table("tokens").insert_many(
        [
            {"hash": rng.randbytes(32).hex(), "invitation_id": i, "created": inv["created"]}
            for i, inv in zip(inv_ids, invitations, strict=True)
        ]  # fmt: skip
    )

    # (answer record or None, entry) pairs; the answer gets its entry's slug once written.
    jobs: list[tuple[dict | None, entries.Entry]] = []
    for deal, did, inv_id, ok in zip(deals, deal_ids, inv_ids, answered, strict=True):
        if ok:
            answer = records.answer(rng, deal, did, inv_id)
            entry = records.debrief_entry(rng, deal, did, answer, rep_emails, theme_slugs)
            jobs.append((answer, entry))
    for _ in range(int(size * LESSONS)):
        jobs.append((None, records.lesson_entry(rng, deals, deal_ids, rep_emails, theme_slugs)))
    with _bar(None, "entry files", quiet, length=len(jobs)) as bar:

        def write(job):
            written = entries.write_entry(entries_dir, job[1])
            bar.update(1)
            return written

        # Threads overlap the two fsyncs per file; write_entry is safe for concurrent writers.
        with ThreadPoolExecutor(16) as pool:
            written = list(pool.map(write, jobs, chunksize=64))
    answers = []
    for (answer, _), entry in zip(jobs, written, strict=True):
        if answer is not None:
            answers.append({**answer, "entry_slug": entry.slug})
    answer_ids = [i for i, _ in store.table("answers").insert_many(answers)]
    # Every entry is written: a running app's repair would have recorded so (its start looks at
    # the answers after the checkpoint; without one it re-checked 500 answers at every start).
    save_checkpoint(store, max(answer_ids, default=0))

    kb = KnowledgeBase(data_dir / "index.sqlite", entries_dir)
    with _bar(None, "search index", quiet, length=len(jobs)) as bar:
        last = [0]

        def progress(done: int, total: int) -> None:
            bar.update(done - last[0])
            last[0] = done

        problems = kb.rebuild(progress)
    kb.close()
    manifest = {
        "version": VERSION,
        "index_schema": SCHEMA_VERSION,
        "store_format": STORE_FORMAT,
        "settled": True,
        "deals": size,
        "answers": len(answers),
        "entries": len(jobs),
        "problems": len(problems),
        "built": today.isoformat(),
        "build_seconds": round(time.perf_counter() - started, 1),
    }
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest
