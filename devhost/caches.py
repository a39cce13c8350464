"""A least-recently-used map with a bound on what it holds, for the per-instance memory
the engine and the Azure store keep (cached histories, episode costs), so a long-running
host with many instances does not grow without end."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class LruCache(Generic[K, V]):
    def __init__(self, *, most: int, weigh: Callable[[V], int] = lambda _: 1) -> None:
        """Holds entries while their total weight stays within `most`."""
        self._most = most
        self._weigh = weigh
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._weight = 0

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        return entry[0]

    def __setitem__(self, key: K, value: V) -> None:
        self.pop(key)
        weight = self._weigh(value)
        self._entries[key] = (value, weight)
        self._weight += weight
        while self._weight > self._most and len(self._entries) > 1:
            _, (_, dropped) = self._entries.popitem(last=False)
            self._weight -= dropped

    def pop(self, key: K) -> V | None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return None
        self._weight -= entry[1]
        return entry[0]

    def __iter__(self) -> Iterator[K]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)
