"""The escalator process: fires the reminder nodes of SPEC §3 on time, exactly once.

Every replica runs the same loop, with no leader: claim the due timers of one batch with
``FOR UPDATE SKIP LOCKED``, fire them in one transaction, repeat while any are due; then sleep
until the next ``due_at`` (at most ``POLL_SECONDS``), woken early by ``NOTIFY liandong_timers``
when a move plans an earlier one.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.core.clock import SHANGHAI, Clock, SystemClock
from services.core.config import Settings
from services.core.db import create_sessionmaker, transaction
from services.core.logs import bound
from services.core.timers.firing import Fired, fire_due, next_due_at
from services.core.timers.repository import NOTIFY_CHANNEL
from services.core.worker_runtime import Listener, run_worker
from services.escalator import duties

log = logging.getLogger(__name__)
POLL_SECONDS = 1.0  # the safety net when a NOTIFY is lost (e.g. the listening connection dropped)
BATCH = 1000

LATENESS = Histogram("liandong_escalator_timer_lateness_seconds", "fired_at - due_at",
                     buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60))
FIRED = Counter("liandong_escalator_timers_total", "Timers handled", ["outcome"])
OLDEST_OVERDUE = Gauge("liandong_escalator_oldest_overdue_pending_seconds",
                       "Age of the oldest due timer not yet fired (0 when none)")


class Escalator:
    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.listener = Listener(settings.database_url or "", NOTIFY_CHANNEL)
        self.scheduler: AsyncIOScheduler | None = None

    async def _start_calendar(self, engine: AsyncEngine) -> None:
        """APScheduler for the calendar duties (only here, never in the api), plus missed runs."""
        sessionmaker = create_sessionmaker(engine)
        ran = await duties.catch_up(sessionmaker, self.clock)
        if ran:
            log.info("caught up on missed duties: %s", ", ".join(ran))
        self.scheduler = AsyncIOScheduler(timezone=SHANGHAI)
        duties.schedule(self.scheduler, sessionmaker, self.clock)
        self.scheduler.start()

    async def _batch(self, sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[list[Fired], datetime | None]:
        """One batch in one transaction; a short batch also reads the next due time."""
        async with transaction(sessionmaker) as session:
            fired = await fire_due(session, self.clock.now(), limit=BATCH)
            next_due = await next_due_at(session) if len(fired) < BATCH else None
        for f in fired:
            FIRED.labels("skipped" if f.skipped else "fired").inc()
            if not f.skipped:
                LATENESS.observe((f.fired_at - f.due_at).total_seconds())
        if fired:
            log.info("fired %d node(s), skipped %d", sum(not f.skipped for f in fired),
                     sum(bool(f.skipped) for f in fired), extra={"case_ids": sorted({f.case_id for f in fired})[:50]})
            _log_nodes(fired)
        return fired, next_due

    async def _drain(self, sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[list[Fired], datetime | None]:
        while True:
            fired, next_due = await self._batch(sessionmaker)
            if len(fired) < BATCH:
                return fired, next_due

    async def tick(self, engine: AsyncEngine, wake: asyncio.Event) -> float | None:
        """Fire everything due, then say how long to sleep until the next due timer."""
        if self.scheduler is None:
            await self._start_calendar(engine)
        await self.listener.ensure(wake)
        sessionmaker = create_sessionmaker(engine)
        fired, next_due = await self._batch(sessionmaker)
        if len(fired) == BATCH:
            # A backlog (a burst, a restart after downtime): drain it in lanes, one lane's Python
            # overlapping another's SQL.
            async with asyncio.TaskGroup() as group:  # one lane failing cancels the others
                tasks = [group.create_task(self._drain(sessionmaker)) for _ in range(self.settings.escalator_lanes)]
            lanes = [t.result() for t in tasks]
            fired = [f for lane, _ in lanes for f in lane]
            next_due = min((due for _, due in lanes if due is not None), default=None)
        now = self.clock.now()
        OLDEST_OVERDUE.set(max(0.0, (now - next_due).total_seconds()) if next_due else 0.0)
        if not fired and next_due is not None and next_due <= now:
            return 0.002  # due but held by another replica: let it commit rather than spin
        return None if next_due is None else max(0.0, (next_due - now).total_seconds())


def _log_nodes(fired: list[Fired]) -> None:
    """One line per fired node, under its case's trace id: a case is followed from the api's request
    through here to the notifier by that one id. Cheap: no formatting when INFO is off."""
    if not log.isEnabledFor(logging.INFO):
        return
    for f in fired:
        if f.skipped is None:
            with bound(f.trace_id):
                log.info("case %s: fired %s", f.case_id, f.node_key,
                         extra={"case_id": f.case_id, "node": f.node_key, "timer_id": f.timer_id})


async def main(settings: Settings) -> None:
    await run_worker("escalator", settings.escalator_port, settings, Escalator(settings).tick,
                     interval_seconds=POLL_SECONDS)
