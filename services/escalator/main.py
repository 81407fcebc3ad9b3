"""The escalator process: timers of SPEC §3 and the calendar duties (its real work: a later issue)."""

from __future__ import annotations

from services.core.config import Settings
from services.core.worker_runtime import ping_database, run_worker

# Until its real work lands, one iteration proves the database is reachable.
tick = ping_database


async def main(settings: Settings) -> None:
    await run_worker("escalator", settings.escalator_port, settings, tick)
