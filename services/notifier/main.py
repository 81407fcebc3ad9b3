"""The notifier process: delivers outbox rows through WeCom, SMS, voice (its real work: a later issue)."""

from __future__ import annotations

from services.core.config import Settings
from services.core.worker_runtime import ping_database, run_worker

# Until its real work lands, one iteration proves the database is reachable.
tick = ping_database


async def main(settings: Settings) -> None:
    await run_worker("notifier", settings.notifier_port, settings, tick)
