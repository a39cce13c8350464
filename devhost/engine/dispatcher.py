"""The engine: workers that turn the store's work into episodes, activity runs and timers.

Orchestration and entity work items run in a thread pool (the SDK's replay is CPU work
and user code is synchronous), `maxConcurrentOrchestratorFunctions` at a time; activity
work runs `maxConcurrentActivityFunctions` at a time. Messages that pile up for an
instance while one of its episodes runs are all delivered to the next one, so a fan-out
of N costs a few replays, not N (and results still coming are waited for: see
lingering.py). With a virtual clock, `advance` fires due timers in
order, returns only once the work they cause has settled, and tells what fired.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from ..clock import Advanced, Clock, Fired, VirtualClock
from ..errors import BadRequest, HostStopped, NotSettled
from ..invoker import Invoker
from ..loader import FunctionIndex
from ..protocol import Event, events, split_entity_instance_id
from ..stores.base import Checkpoint, ConflictError, InstanceRecord, Message, Store, WorkItem, bounded_store
from ..supervision import Supervisor
from .activities import ActivityRunner
from .commits import CommitSignals
from .entities import EntityEpisodeContext, run_entity_episode
from .generations import EarlierExecutions
from .host_failures import Failure, Rejections, host_failure, internal_error
from .lingering import Lingering
from .orchestrations import EpisodeContext, run_orchestration_episode
from .versioning import Versioning

logger = logging.getLogger(__name__)

T = TypeVar("T")

# An advance that keeps firing timers due before its target never settles; past this
# many timers it stops and says so.
_MAX_TIMERS_PER_ADVANCE = 100_000
_SETTLE_TIMEOUT_S = 120.0
# When more activities are queued than workers, a worker takes several (its fair share,
# at most this many): synchronous ones then cost one hand-off to a thread, not one each.
_ACTIVITY_SHARE = 16


class Scheduled(Protocol):
    """Something else the virtual clock fires on its way (timer triggers)."""

    def next_due(self) -> datetime | None: ...

    async def fire(self, due: datetime) -> list[Fired]:
        """Fires what is due at `due`; returns what fired, in order."""
        ...


@dataclass(frozen=True)
class EngineSettings:
    """host.json `extensions.durableTask` values the engine honours."""

    max_concurrent_orchestrations: int = 10
    max_concurrent_activities: int = 10
    max_entity_batch: int = 50
    versioning: Versioning = field(default_factory=Versioning)


class Engine:
    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        index: FunctionIndex,
        invoker: Invoker,
        settings: EngineSettings,
    ) -> None:
        self.store = store
        self._bounded = bounded_store(store)  # for the waits requests make
        self.clock = clock
        self.index = index
        self._invoker = invoker
        self._settings = settings
        self.versioning = settings.versioning
        self._functions = index.known()
        self._activities = ActivityRunner(index, invoker, clock)
        self._episodes = ThreadPoolExecutor(
            max_workers=settings.max_concurrent_orchestrations, thread_name_prefix="devhost-episode"
        )
        self._loops = Supervisor(store.unavailable_errors)
        self._commits = CommitSignals()
        self._advance_lock = asyncio.Lock()
        self._lingering = Lingering()
        self._running: dict[object, str] = {}  # user code under way, for a stop to report
        # Commits storage refused, by instance (episodes) or work message (activities).
        self._rejections = Rejections()
        self.schedules: list[Scheduled] = []
        self.earlier = EarlierExecutions()

    async def start(self) -> None:
        self._loops = Supervisor(self.store.unavailable_errors)
        await self.store.open(self._loops)
        for n in range(self._settings.max_concurrent_orchestrations):
            self._loops.spawn(f"episodes-{n}", self._orchestration_worker)
        for n in range(self._settings.max_concurrent_activities):
            self._loops.spawn(f"activities-{n}", self._activity_worker)
        if not self.clock.is_virtual:
            self._loops.spawn("timers", self._timer_loop)

    @property
    def loops(self) -> Supervisor:
        """The supervisor of the host's background loops, trigger listeners' too."""
        return self._loops

    @property
    def ended(self) -> asyncio.Future[str]:
        """Resolved with one line if a background loop ended for good (see Supervisor)."""
        return self._loops.ended

    async def stop(self) -> list[str]:
        """Stops the workers without waiting for user code that is still running (a
        thread cannot be stopped, and must not block the loop); returns what was
        abandoned so, whose work the store hands back for a later run."""
        await self._loops.stop()
        abandoned = sorted(self._running.values())
        self._episodes.shutdown(wait=False, cancel_futures=True)
        await self.store.close()
        return abandoned

    async def _running_in(self, description: str, work: Awaitable[T]) -> T:
        """Awaits work that runs user code, remembering it until it ends; if the worker is
        cancelled meanwhile (a stop), the work stays listed as abandoned."""
        token = object()
        self._running[token] = description
        try:
            result = await work
        except asyncio.CancelledError:
            raise
        except BaseException:
            del self._running[token]
            raise
        del self._running[token]
        return result

    # --- orchestrations and entities -----------------------------------------------------

    async def _orchestration_worker(self) -> None:
        while True:
            item = await self.store.next_work_item()
            try:
                await self._run_work_item(item)
            except Exception:  # storage failed: the messages come back, the episode reruns
                await self._give_back(item)
                raise  # the supervisor logs it and pauses this worker

    async def _run_work_item(self, item: WorkItem) -> None:
        loop = asyncio.get_running_loop()
        await self._lingering.gather(self.store, item)
        began = loop.time()
        refused = self._rejections.verdict(item.instance_id)
        if refused is not None:
            checkpoint = refused.checkpoint(item, self.clock.now())
        else:
            try:
                checkpoint = await self._running_in(
                    f"an episode of '{item.instance_id}'",
                    loop.run_in_executor(self._episodes, self._episode, item),
                )
            except Exception as error:  # a host defect: keep the instance and show why
                logger.exception("Episode of '%s' failed inside the host", item.instance_id)
                checkpoint = host_failure(item, internal_error(error), self.clock.now())
        seconds = loop.time() - began
        try:
            await self.store.commit(item, checkpoint)
        except ConflictError:
            await self._give_back(item)
            return
        except Exception as error:
            if not self.store.is_rejection(error):
                raise
            self._rejections.count(item.instance_id, error)
            await self._give_back(item)
            return
        self._rejections.forget(item.instance_id)
        self._lingering.committed(item, checkpoint, seconds)
        self.earlier.keep(item.instance_id, checkpoint.ended)
        for level, line in checkpoint.traces:
            logger.log(level, line)
        self._commits.committed(item.instance_id, checkpoint.record)

    async def _give_back(self, item: WorkItem) -> None:
        try:
            await self.store.abandon(item)
        except Exception:  # even that failed: the messages reappear when their lease lapses
            logger.warning("Releasing the messages of '%s' failed; they reappear shortly.", item.instance_id)

    def _episode(self, item: WorkItem) -> Checkpoint:
        now = self.clock.now()
        entity = split_entity_instance_id(item.instance_id)
        if entity is not None:
            info = self.index.entity(entity[0])
            return run_entity_episode(
                item,
                EntityEpisodeContext(
                    now=now,
                    entity_name=info.durable_name if info else None,
                    run_entity=self._run_entity,
                    max_batch=self._settings.max_entity_batch,
                ),
            )
        return run_orchestration_episode(
            item,
            EpisodeContext(
                now=now,
                functions=self._functions,
                run_orchestrator=self._run_orchestrator,
                versioning=self.versioning,
            ),
        )

    def _run_orchestrator(self, name: str, context_json: str) -> str:
        info = self.index.orchestrator(name)
        if info is None:
            raise LookupError(f"The orchestrator function '{name}' is not registered in this app.")
        return self._invoker.run_orchestrator(info, context_json)

    def _run_entity(self, name: str, batch_json: str) -> str:
        info = self.index.entity(name)
        assert info is not None, "entity episodes only run for registered entities"
        return self._invoker.run_entity(info, batch_json)

    # --- activities ----------------------------------------------------------------------

    async def _activity_worker(self) -> None:
        workers = self._settings.max_concurrent_activities
        while True:
            batch = await self.store.next_activities(workers=workers, most=_ACTIVITY_SHARE)
            try:
                names = ", ".join(sorted({str(work.event.get("Name")) for work in batch}))
                results = await self._running_in(f"activity {names}", self._activities.run(batch))
            except Exception as error:  # a host defect: fail the tasks rather than lose them
                logger.exception("Activities failed inside the host")
                results = [self._activity_failure(work, internal_error(error)) for work in batch]
            failures = [
                failure
                for work, result in zip(batch, results, strict=False)
                if (failure := await self._report_activity(work, result)) is not None
            ]
            if failures:
                raise failures[0]  # the supervisor logs it and pauses this worker

    async def _report_activity(self, work: Message, result: Event) -> Exception | None:
        """Sends one result; if storage fails it, the activity runs again (activities are
        at-least-once), unless storage keeps refusing it: then its caller gets a failure."""
        # Results travel packed per instance, so a refusal is counted for the instance's
        # results: whichever of them storage cannot hold, after enough refusals they all
        # go as failures (a short one storage takes), never the same pack forever.
        key = f"results of {work.instance_id}"
        refused = self._rejections.verdict(key)
        if refused is not None:
            result = self._activity_failure(work, refused.failure)
        try:
            answer = Message(work.instance_id, result, work.execution_id, settles=work.id)
            await self.store.complete_activity(work, answer)
        except Exception as error:
            refusal = self.store.is_rejection(error)
            if refusal:
                self._rejections.count(key, error)
            try:
                await self.store.abandon_activity(work)
            except Exception:
                logger.warning("Releasing activity '%s' failed; it reappears shortly.", work.event.get("Name"))
            return None if refusal else error
        return None

    def _activity_failure(self, work: Message, failure: Failure) -> Event:
        return events.task_failed(self.clock.now(), work.event["EventId"], failure.reason, failure.reason)

    # --- time --------------------------------------------------------------------------------

    async def _timer_loop(self) -> None:
        """With the system clock: sleep until the next timer is due, then release it."""
        changed = self.store.timers_changed
        while True:
            changed.clear()
            due = self.store.next_timer_due()
            if due is not None:
                delay = (due - self.clock.now()).total_seconds()
                if delay <= 0:
                    await self.store.release_timers(self.clock.now())
                    continue
            try:
                await asyncio.wait_for(changed.wait(), timeout=None if due is None else delay)
            except TimeoutError:
                await self.store.release_timers(self.clock.now())

    async def settle(self, timeout: float = _SETTLE_TIMEOUT_S) -> None:
        """Returns when no work is queued or running (timers not yet due aside); raises
        NotSettled if that takes longer than `timeout` (an activity that never returns)."""
        idle: asyncio.Future[Any] = asyncio.ensure_future(self.store.wait_idle())
        await asyncio.wait([idle, self.ended], timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if not idle.done():
            idle.cancel()
            if self.ended.done():
                raise HostStopped(f"devhost stopped: {self.ended.result()}")
            raise NotSettled(
                f"Work did not settle within {timeout:g}s: an activity or orchestration is "
                "still running (or keeps scheduling work that is due now)."
            )

    async def advance(self, delta: timedelta) -> Advanced:
        """Moves the virtual clock, firing every timer and schedule due on the way in
        order (at one moment: the durable timers first, then the schedules)."""
        clock = self.clock
        if not isinstance(clock, VirtualClock):
            raise BadRequest("The clock only moves when the host runs with --virtual-clock.")
        if delta < timedelta(0):
            raise BadRequest("The clock cannot move backwards.")
        async with self._advance_lock:
            target = clock.now() + delta
            await self.settle()
            fired: list[Fired] = []
            while (due := self._next_due()) is not None and due <= target:
                clock.set(due)
                timer_due = self.store.next_timer_due()
                if timer_due is not None and timer_due <= due:
                    fired += map(_timer_fired, await self.store.release_timers(due))
                for schedule in self.schedules:
                    schedule_due = schedule.next_due()
                    if schedule_due is not None and schedule_due <= due:
                        fired += await schedule.fire(due)
                await self.settle()
                if len(fired) > _MAX_TIMERS_PER_ADVANCE:
                    raise BadRequest(
                        f"Advancing fired more than {_MAX_TIMERS_PER_ADVANCE} timers and schedules "
                        "without reaching the target: an orchestration keeps scheduling timers, or a "
                        "schedule is that frequent."
                    )
            clock.set(target)
            await self.settle()
            try:
                await self.store.clock_moved(clock.now())
            except self.store.unavailable_errors as error:
                logger.warning("The virtual clock's time could not be saved (%s); a restart goes back.", error)
            return Advanced(clock.now(), tuple(fired))

    def _next_due(self) -> datetime | None:
        """The earliest durable timer or schedule the virtual clock passes next."""
        moments = [self.store.next_timer_due(), *(schedule.next_due() for schedule in self.schedules)]
        return min((moment for moment in moments if moment is not None), default=None)

    # --- observing instances ------------------------------------------------------------

    def changed(self, instance_id: str) -> None:
        """The instance's row changed here outside an episode (a start, a purge): wakes
        whoever waits for it."""
        self._commits.committed(instance_id)

    async def wait_for(
        self,
        instance_id: str,
        done: Callable[[InstanceRecord | None], bool],
        timeout: float,
    ) -> InstanceRecord | None:
        """Waits until `done(record)` holds, re-reading the record after each of the
        instance's commits (see commits.py)."""
        return await self._commits.wait(
            instance_id,
            lambda: self._bounded.get_record(instance_id),
            done,
            timeout=timeout,
            local=self.store.commits_here(instance_id),
        )


def _timer_fired(timer: Message) -> Fired:
    assert timer.fire_at is not None, "a store holds back only messages with a fire time"
    return Fired("timer", timer.fire_at, timer.instance_id)
