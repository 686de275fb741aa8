"""The bounded cache behind rendered fragments and signed tokens."""

from __future__ import annotations

import threading

from debrief.lru import LRU


def test_the_least_recently_used_entry_goes_first():
    cache = LRU(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "a" is now the most recent
    cache.put("c", 3)
    assert cache.get("b") is None and cache.get("a") == 1 and cache.get("c") == 3
    cache.put("a", 4)  # replacing keeps the size
    assert cache.get("a") == 4 and cache.get("c") == 3
    cache.clear()
    assert cache.get("a") is None and cache.get("c") is None


def test_threads_never_push_it_past_its_size():
    cache = LRU(50)

    def fill(start: int) -> None:
        for i in range(start, start + 2000):
            cache.put(i, i)
            cache.get(i - 7)

    threads = [threading.Thread(target=fill, args=(n * 10_000,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(cache._items) == 50
