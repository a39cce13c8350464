"""Which instances have work, handed out one at a time: the bookkeeping both stores share.

Items (messages, or queue messages carrying them) wait per instance. An instance is
handed out with everything waiting for it and stays locked until its episode commits;
what arrives meanwhile waits for the next one. Items an episode hands back (a suspended
instance, a start still on its way, an answer ahead of its history) wait for the next
arrival or the next commit that changes the instance's history, then go first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


class ReadyInstances(Generic[T]):
    def __init__(self, changed: Callable[[], None]) -> None:
        """`changed` is called when work may have run out (the stores' idle check)."""
        self._changed = changed
        self._pending: dict[str, list[T]] = {}
        self._held: dict[str, list[T]] = {}
        self._ready: asyncio.Queue[str] = asyncio.Queue()
        self._queued: set[str] = set()
        self._locked: set[str] = set()
        self._forgotten: set[str] = set()  # purged or replaced while an episode had them
        self._arrival = asyncio.Event()

    @property
    def busy(self) -> bool:
        """Something waits for, or is in, an episode (held-back items aside): an instance
        with pending items is always queued or locked."""
        return bool(self._queued or self._locked)

    def add(self, instance_id: str, item: T) -> None:
        pending = self._pending.setdefault(instance_id, [])
        held = self._held.pop(instance_id, None)
        if held:
            pending[:0] = held
        pending.append(item)
        self._mark_ready(instance_id)
        arrival, self._arrival = self._arrival, asyncio.Event()
        arrival.set()

    async def next_arrival(self, timeout: float) -> bool:
        """Waits up to `timeout` seconds for an item to arrive for any instance."""
        try:
            await asyncio.wait_for(self._arrival.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def take(self) -> tuple[str, list[T]]:
        """The next ready instance, locked, with everything waiting for it."""
        while True:
            instance_id = await self._ready.get()
            self._queued.discard(instance_id)
            items = self._pending.pop(instance_id, [])
            if items:
                self._locked.add(instance_id)
                return instance_id, items
            self._changed()  # it was dropped meanwhile (purged, a partition lost)

    def more(self, instance_id: str) -> list[T]:
        """What arrived for a locked instance since it was taken; nothing once it was
        purged meanwhile: what arrived since is for whatever takes its id next."""
        if instance_id in self._forgotten:
            return []
        return self._pending.pop(instance_id, [])

    def pending(self, instance_id: str) -> bool:
        return bool(self._pending.get(instance_id))

    def hold(self, instance_id: str, items: list[T]) -> None:
        """Items handed back undelivered: they wait for the next arrival."""
        if items:
            self._held.setdefault(instance_id, []).extend(items)

    def unlock(self, instance_id: str, give_back: Sequence[T] = (), *, history_changed: bool = False) -> None:
        """Ends an episode; `give_back` (an abandoned one's items) goes first again. After
        a commit that changed the history, held-back items are offered again at once: an
        answer that came before the history asking for it may be deliverable now."""
        self._locked.discard(instance_id)
        self._forgotten.discard(instance_id)
        pending = self._pending.setdefault(instance_id, [])
        pending[:0] = list(give_back)
        if history_changed and instance_id in self._held:
            pending[:0] = self._held.pop(instance_id)
        if pending:
            # What the episode handed back goes ahead of what arrived while it ran.
            pending[:0] = self._held.pop(instance_id, [])
            self._mark_ready(instance_id)
        else:
            del self._pending[instance_id]
        self._changed()

    def drop(self, keep: Callable[[str], bool]) -> list[T]:
        """Forgets, and returns, the waiting and held-back items of every instance that
        `keep` rejects."""
        dropped: list[T] = []
        for table in (self._pending, self._held):
            for instance_id in [i for i in table if not keep(i)]:
                dropped.extend(table.pop(instance_id))
        return dropped

    def forget(self, instance_id: str) -> None:
        """Drops what waits for one instance (it is being replaced or purged); an episode
        of it that is under way learns so from `forgotten`."""
        self._pending.pop(instance_id, None)
        self._held.pop(instance_id, None)
        self.note_purged(instance_id)

    def note_purged(self, instance_id: str) -> None:
        """Marks an instance whose episode is under way as gone (see `forgotten`)."""
        if instance_id in self._locked:
            self._forgotten.add(instance_id)

    def forgotten(self, instance_id: str) -> bool:
        """Whether the instance was forgotten since its episode began (asked once, when
        the episode commits or is abandoned): its effects must not bring it back."""
        if instance_id in self._forgotten:
            self._forgotten.discard(instance_id)
            return True
        return False

    def held_items(self) -> Iterator[T]:
        for items in self._held.values():
            yield from items

    def _mark_ready(self, instance_id: str) -> None:
        if instance_id not in self._locked and instance_id not in self._queued:
            self._queued.add(instance_id)
            self._ready.put_nowait(instance_id)
