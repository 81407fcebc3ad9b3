"""Crash tests with real processes: SIGKILL the escalator mid-batch, restart, repeat, then two
replicas side by side. Afterwards every node fired exactly once and none was lost."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import asyncpg

from services.core.db import plain_url
from tests.bench.bench_escalator import POLICY, prepare
from tests.conftest import DISTRICT_SECRET, JWT_SECRET, ROOT
from tests.procs import free_port, stop, wait_ready

TIMERS = 20000


def start_escalator(env: dict[str, str]) -> subprocess.Popen[bytes]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "services.cli", "escalator"], cwd=ROOT,
                            env={**env, "LIANDONG_ESCALATOR_PORT": str(port)})
    wait_ready(f"http://127.0.0.1:{port}/readyz", proc)
    return proc


async def counts(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(plain_url(url))
    try:
        row = await conn.fetchrow("""
            SELECT (SELECT count(*) FROM case_timer WHERE state = 'fired') AS fired,
                   (SELECT count(*) FROM case_timer WHERE state = 'pending') AS pending,
                   (SELECT count(*) FROM case_timer WHERE state = 'skipped') AS skipped,
                   (SELECT count(*) FROM reminder) AS reminders,
                   (SELECT count(DISTINCT timer_id) FROM reminder) AS reminded_timers,
                   (SELECT count(*) FROM outbox) AS outbox,
                   (SELECT coalesce(sum(reminder_count), 0) FROM passive_case) AS counted""")
        return dict(row)
    finally:
        await conn.close()


def test_sigkill_mid_batch_loses_nothing_and_doubles_nothing(new_database: Callable[[], str]) -> None:
    url = new_database()
    env = {**os.environ, "DATABASE_URL": url, "LIANDONG_ENV": "test", "LIANDONG_JWT_SECRET": JWT_SECRET,
           "LIANDONG_DISTRICT_SECRET": DISTRICT_SECRET, "LIANDONG_LOG_LEVEL": "ERROR"}
    for command in (["migrate"], ["seed-demo", "--force"]):
        subprocess.run([sys.executable, "-m", "services.cli", *command], env=env, cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)

    async def setup() -> None:
        conn = await asyncpg.connect(plain_url(url))
        try:
            await conn.execute("UPDATE escalation_policy SET nodes = $1::jsonb WHERE kind = 'acceptance' AND active",
                               json.dumps(POLICY))
            await prepare(conn, TIMERS, start=time.time() - 5, spread=4, prefix="K")  # all due: a backlog
        finally:
            await conn.close()

    asyncio.run(setup())
    rng = random.Random(20261204)
    kills = 0
    for _ in range(4):  # kill it at a random point while it works through the backlog
        proc = start_escalator(env)
        time.sleep(rng.uniform(0.02, 0.15))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        kills += 1
    progress = asyncio.run(counts(url))
    replicas = [start_escalator(env), start_escalator(env)]  # two side by side, no leader
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and asyncio.run(counts(url))["pending"]:
            time.sleep(0.3)
    finally:
        for r in replicas:
            stop(r)
    final = asyncio.run(counts(url))
    print(f"after {kills} kills: {progress}; final: {final}")
    assert kills == 4 and progress["pending"] > 0  # the kills did interrupt the work
    assert final["pending"] == 0 and final["skipped"] == 0
    assert final["fired"] == final["reminders"] == final["reminded_timers"] == TIMERS  # once each
    assert final["outbox"] == 2 * TIMERS  # two SMS per node, never a third
    assert final["counted"] == TIMERS  # the ledger's reminder count moved exactly with them
