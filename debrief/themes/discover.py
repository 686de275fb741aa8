"""Proposed themes: recurring reasons found in what buyers and reps wrote in untagged entries.

The computation, run outside the web process (`python -m debrief.themes.discover DATA ENTRIES`,
started by proposals.py, or `debrief themes discover`): it imports scikit-learn, whose memory
a server process cannot spare, and takes seconds at thousands of entries.

How: sentences written word for word in several entries are template text and are dropped; the
rest becomes TF-IDF vectors (words and two-word phrases), reduced by LSA (truncated SVD) so
entries that say the same thing in other words come close, then clustered by HDBSCAN, which
leaves entries that belong nowhere unclustered instead of forcing them into a group. A cluster
becomes a proposal only when its entries share several independent telling words: a group held
together by one stock phrase ("as far as I can tell") is not a reason.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from debrief import entries
from debrief.index import KnowledgeBase

LIMIT = 5000  # the most recent untagged entries looked at: the page's promise at any size
MIN_SIZE = 5  # entries a proposal needs: fewer is an anecdote
TELLING_SHARE = 0.25  # a telling word is in at least a quarter of the proposal's entries...
TELLING_LIFT = 2.0  # ...and at least twice as common there as in all the entries looked at
TELLING_MIN = 3  # independent telling words a proposal needs
SAME_WORD = 0.7  # words whose entries overlap this much (Jaccard) count as one phrase
TEMPLATE_MIN = 3  # a sentence in this many entries, word for word, is template text
LSA_MAX = 50  # dimensions the vectors are reduced to, at most
EXAMPLES = 5
TERMS = 6
_TOKENS = r"(?u)\b[^\W\d_]{3,}\b"
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")
# Words every loss explanation uses, on top of scikit-learn's English list: never a theme.
DOMAIN_STOP_WORDS = frozenset(
    """
    buyer buyers rep reps deal deals lost lose losing won win decision decided chose choose
    went said told debrief lesson lessons really just did didn wasn don like thing things
    competitor competitors vendor
    """.split()  # noqa: SIM905 - a word list reads best as text
)
# Everyday words that may well recur in a reason ("took weeks", "going to work") but make a poor
# name or telling word on their own: shown only inside a phrase with a word of substance.
PLAIN_WORDS = frozenset(
    """
    work works working going day days week weeks month months year years time times data need
    needed needs want wanted make made use used uses using took take felt know start started
    longer new old general proper sent send accept asked half way
    """.split()  # noqa: SIM905 - a word list reads best as text
)


@dataclass(frozen=True)
class Text:
    """An untagged entry as discovery reads it."""

    slug: str
    title: str
    kind: str
    date: str
    buyer: str
    rep: str

    @property
    def words(self) -> str:
        """What the clustering reads: the buyer's and rep's words; a lesson's title too (a
        debrief's title is made from its reasons, the same few labels everywhere)."""
        title = self.title if self.kind == "lesson" else ""
        return "\n".join(part for part in (title, self.buyer, self.rep) if part)


def untagged_entries(
    kb: KnowledgeBase, limit: int, with_tagged: bool = False
) -> tuple[list[Text], int]:
    """Entries with no theme (every entry, with_tagged), newest first (at most `limit`), and how
    many there are in all.

    The one place discovery reads the knowledge base: the index says which entries are
    untagged, their files give the words.
    """
    found, pool = kb.untagged(limit, with_tagged)
    texts = []
    for entry in found:
        buyer, rep = entries.buyer_and_rep_text(entry.body)
        day = entry.date.isoformat()
        texts.append(Text(entry.slug, entry.title, entry.kind, day, buyer, rep))
    return texts, pool


def _sentences(text: str) -> list[str]:
    """The text's sentences, lower-cased with spaces collapsed."""
    return [" ".join(s.lower().split()) for s in _SENTENCE.findall(text) if s.strip()]


def without_templates(texts: list[str]) -> list[str]:
    """Each text without the sentences that TEMPLATE_MIN or more texts contain word for word."""
    split = [_sentences(t) for t in texts]
    seen = Counter(s for sentences in split for s in set(sentences))
    return [" ".join(s for s in sentences if seen[s] < TEMPLATE_MIN) for sentences in split]


def proposal_id(slugs: list[str]) -> str:
    """A short stable id for a set of entries."""
    return hashlib.sha1("\n".join(sorted(slugs)).encode()).hexdigest()[:12]  # noqa: S324


def clusters(words: list[str]) -> list[list[int]]:
    """Groups of entry positions that read alike (HDBSCAN over LSA vectors); noise left out."""
    import numpy
    from sklearn.cluster import HDBSCAN
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
    from sklearn.preprocessing import normalize

    if len(words) < 2 * MIN_SIZE:
        return []
    stop = sorted(ENGLISH_STOP_WORDS | DOMAIN_STOP_WORDS)
    vectorizer = TfidfVectorizer(
        stop_words=stop, token_pattern=_TOKENS, ngram_range=(1, 2), min_df=2, max_df=0.5,
        sublinear_tf=True, dtype=numpy.float32,
    )  # fmt: skip
    try:
        tfidf = vectorizer.fit_transform(words)
    except ValueError:  # no word left in two entries: nothing recurs
        return []
    # LSA dimensions grow with the corpus (more entries, more distinct reasons to tell apart), up
    # to LSA_MAX: HDBSCAN's neighbour search slows down steeply with more (figures: BENCHMARKS.md).
    dims = min(LSA_MAX, max(10, len(words) // 4), tfidf.shape[1] - 1)
    if dims < 2:
        return []
    points = normalize(TruncatedSVD(n_components=dims, random_state=0).fit_transform(tfidf))
    labels = HDBSCAN(min_cluster_size=MIN_SIZE, min_samples=3, copy=True).fit_predict(points)
    groups: dict[int, list[int]] = {}
    for position, label in enumerate(labels):
        if label >= 0:
            groups.setdefault(int(label), []).append(position)
    return list(groups.values())


def _singular(term: str) -> str:
    """A term without a plural s, to tell "tablet" and "tablets" are one word."""
    return " ".join(w[:-1] if w.endswith("s") and len(w) > 3 else w for w in term.split())


def telling(members: list[int], present: dict[str, set[int]], total: int) -> tuple[list[str], int]:
    """The proposal's most telling terms (best first), and how many independent telling words.

    present: term -> positions of the entries that contain it (words and two-word phrases).
    """
    size = len(members)
    inside = set(members)
    scored = []
    for term, where in present.items():
        share = len(where & inside) / size
        lift = share / (len(where) / total)
        if share >= TELLING_SHARE and lift >= TELLING_LIFT:
            scored.append((share * (lift**0.5), term, where & inside))
    scored.sort(key=lambda s: (-s[0], s[1]))
    phrases: list[set[int]] = []  # entry sets of the independent single words found so far
    for _, term, where in scored:
        if " " in term:
            continue
        if all(len(where & p) / len(where | p) < SAME_WORD for p in phrases):
            phrases.append(where)
    terms: list[str] = []
    for _, term, _where in scored:
        if set(term.split()) <= PLAIN_WORDS:
            continue
        words = set(_singular(term).split())
        known = [set(_singular(t).split()) for t in terms]
        if any(words & k for k in known):
            continue  # "tablet" after "rugged tablets", "trainer site" after "sent trainer"
        terms.append(term)
        if len(terms) == TERMS:
            break
    return terms, len(phrases)


def suggested_name(terms: list[str]) -> str:
    """A name a manager would keep: the two most telling terms, "Field team and tablets"."""
    name = " and ".join(terms[:2]) if terms else "Unnamed reason"
    return name[0].upper() + name[1:]


def _presence(words: list[str]) -> dict[str, set[int]]:
    """term -> positions of the texts containing it (words and two-word phrases, in 2+ texts)."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    counter = CountVectorizer(
        stop_words=sorted(ENGLISH_STOP_WORDS | DOMAIN_STOP_WORDS), token_pattern=_TOKENS,
        ngram_range=(1, 2), min_df=2, binary=True,
    )  # fmt: skip
    matrix = counter.fit_transform(words).tocsc()
    names = counter.get_feature_names_out()
    return {
        str(names[j]): set(matrix.indices[matrix.indptr[j] : matrix.indptr[j + 1]].tolist())
        for j in range(matrix.shape[1])
    }


def find(texts: list[Text]) -> list[dict]:
    """The proposals among the texts, largest first."""
    words = without_templates([t.words for t in texts])
    groups = clusters(words)
    if not groups:
        return []
    present = _presence(words)
    proposals = []
    for members in groups:
        terms, independent = telling(members, present, len(texts))
        if independent < TELLING_MIN:
            continue
        chosen = sorted((texts[i] for i in members), key=lambda t: t.date, reverse=True)
        # Examples: the entries using the most telling terms, so the few shown make the case.
        uses = {texts[i].slug: sum(i in present.get(term, ()) for term in terms) for i in members}
        examples = sorted(chosen, key=lambda t: -uses[t.slug])[:EXAMPLES]
        slugs = [t.slug for t in chosen]
        proposals.append(
            {
                "id": proposal_id(slugs),
                "name": suggested_name(terms),
                "terms": terms,
                "slugs": slugs,
                "dates": [t.date for t in chosen],
                "examples": [{"slug": t.slug, "title": t.title, "date": t.date} for t in examples],
            }
        )
    return sorted(proposals, key=lambda p: (-len(p["slugs"]), p["name"]))


def compute(kb: KnowledgeBase, limit: int | None = None, with_tagged: bool = False) -> dict:
    """Everything the page shows: the proposals and what they were computed from."""
    limit = LIMIT if limit is None else limit
    kb.sync_if_stale(max_age=0)  # hand edits and other processes' writes first
    version = kb.entries_key()  # before reading: a write meanwhile makes the result stale
    texts, pool = untagged_entries(kb, limit, with_tagged)
    return {
        "version": list(version),
        "with_tagged": with_tagged,
        "considered": len(texts),
        "untagged": pool,
        "limit": limit,
        "proposals": find(texts),
    }


def main(argv: list[str]) -> int:
    """`python -m debrief.themes.discover DATA_DIR ENTRIES_DIR [--with-tagged]`: refresh the
    proposals' cache (of the untagged entries, or of every entry)."""
    from debrief.themes import proposals

    with_tagged = "--with-tagged" in argv
    paths = [a for a in argv if a != "--with-tagged"]
    if len(paths) != 2:
        print(
            "usage: python -m debrief.themes.discover DATA_DIR ENTRIES_DIR [--with-tagged]",
            file=sys.stderr,
        )
        return 2
    done = proposals.refresh(Path(paths[0]), Path(paths[1]), with_tagged)
    return 0 if done else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
