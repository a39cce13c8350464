"""The bounded per-instance memory (devhost/caches.py)."""

from devhost.caches import LruCache


def test_the_least_recently_used_entries_go_once_the_weight_is_exceeded() -> None:
    cache: LruCache[str, list[int]] = LruCache(most=5, weigh=len)
    cache["a"], cache["b"] = [1, 2], [3, 4]
    assert cache.get("a") == [1, 2]  # now the most recent
    cache["c"] = [5, 6]
    assert (cache.get("b"), cache.get("a"), cache.get("c")) == (None, [1, 2], [5, 6])
    assert cache.pop("a") == [1, 2] and len(cache) == 1


def test_a_single_entry_heavier_than_the_bound_is_still_kept() -> None:
    cache: LruCache[str, list[int]] = LruCache(most=1, weigh=len)
    cache["big"] = [1, 2, 3]
    assert cache.get("big") == [1, 2, 3]
