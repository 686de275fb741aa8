"""The engine's cache of rankings: bounded by what its rankings hold, not only by their number."""

from __future__ import annotations

from array import array

from debrief.index.caches import Ranked, Rankings
from debrief.index.facts import Filters
from debrief.index.results import Ranking, Scores


def ranked(n: int, first: int = 1) -> Ranked:
    """A ranking of n matching ids, at state (g, 1)."""
    return Ranked(("g", 1), Ranking(ranked=list(range(first, first + n)), facets={}), n, n)


def test_a_ranking_keeps_its_ids_as_machine_integers():
    ranking = ranked(5).ranking
    assert isinstance(ranking.ranked, array) and ranking.ranked.typecode == "q"
    assert ranking.page(1, 2, dict) == [2, 3] and ranking.total == 5


def test_a_ranking_keeps_its_scores_as_machine_numbers():
    scores = {3: -1.5, 1: 2.0, 2: 1e6 - 0.25}
    ranking = Ranking(ranked=[3, 1, 2], facets={}, scores=scores)
    assert isinstance(ranking.scores, Scores)
    assert (ranking.scores.ids.typecode, ranking.scores.values.typecode) == ("q", "d")
    assert ranking.scores.as_dict() == scores and ranking.held == 6


def test_the_least_recently_used_rankings_go_when_their_ids_pass_the_bound():
    cache = Rankings(size=10, ids=250)
    keys = [(None, Filters(kind=k)) for k in "abc"]
    cache.put(keys[0], ranked(100))
    cache.put(keys[1], ranked(100))
    assert cache.get(keys[0]) is not None  # now the most recent of the two
    cache.put(keys[2], ranked(100))  # 300 ids held: the least recently used goes
    assert cache.get(keys[1]) is None
    assert cache.get(keys[0]) is not None and cache.get(keys[2]) is not None


def test_one_ranking_larger_than_the_bound_is_still_kept():
    cache = Rankings(size=10, ids=50)
    key = (None, Filters())
    cache.put(key, ranked(100))
    assert cache.get(key) is not None


def test_a_broad_ranking_counts_the_ids_it_holds_not_its_total():
    # Broad searches of a large knowledge base: each matches 100,000 entries (a count or an
    # estimate) but holds only its ranked pool until a page past it reads the rest.
    cache = Rankings(size=10, ids=1_000)
    keys = [(None, Filters(kind=str(n))) for n in range(5)]
    for key in keys:
        broad = Ranking(ranked=list(range(100)), facets={}, matched=100_000, about=True)
        cache.put(key, Ranked(("g", 1), broad, 100, 100_000))
    assert all(cache.get(key) is not None for key in keys)
    cache.get(keys[0]).ranking.rest = array("q", range(1_000))  # its rest read
    cache.put(keys[0], cache.get(keys[0]))  # put again: now over the bound
    assert cache.get(keys[1]) is None and cache.get(keys[0]) is not None
