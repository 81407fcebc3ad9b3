"""Crash tests with real processes: SIGKILL the escalator and the notifier mid-batch, restart,
repeat, restart Postgres under them, then replicas side by side. Afterwards every node fired exactly
once, every message was delivered, and none was lost."""

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
from pathlib import Path

import asyncpg
import httpx

from services.core.db import plain_url
from services.core.embedded_pg import restart_embedded_postgres, start_embedded_postgres, stop_embedded_postgres
from tests.bench.bench_escalator import POLICY, prepare
from tests.conftest import DISTRICT_SECRET, JWT_SECRET, ROOT
from tests.procs import free_port, migrate_and_seed_cli, start_ready, stop

TIMERS = 20000


def start_escalator(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return start_ready("escalator", env)[0]


async def counts(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(plain_url(url))
    try:
        row = await conn.fetchrow("""
            SELECT (SELECT count(*) FROM case_timer WHERE state = 'fired') AS fired,
                   (SELECT count(*) FROM case_timer WHERE state = 'pending') AS pending,
                   (SELECT count(*) FROM case_timer WHERE state = 'skipped') AS skipped,
                   (SELECT count(*) FROM reminder) AS reminders,
                   (SELECT count(DISTINCT timer_id) FROM reminder) AS reminded_timers,
                   (SELECT count(*) FROM outbox WHERE reminder_id IS NOT NULL) AS outbox,
                   (SELECT coalesce(sum(reminder_count), 0) FROM passive_case) AS counted""")
        return dict(row)
    finally:
        await conn.close()


def test_sigkill_mid_batch_loses_nothing_and_doubles_nothing(new_database: Callable[[], str]) -> None:
    url = new_database()
    env = {**os.environ, "DATABASE_URL": url, "LIANDONG_ENV": "test", "LIANDONG_JWT_SECRET": JWT_SECRET,
           "LIANDONG_DISTRICT_SECRET": DISTRICT_SECRET, "LIANDONG_LOG_LEVEL": "ERROR"}
    migrate_and_seed_cli(env)

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


CASES = 1500  # one timer each, two SMS per firing


def test_kills_and_a_postgres_restart_lose_no_reminder(tmp_path: Path) -> None:
    """Escalator and notifier on their own embedded Postgres, delivering to a fake SMS vendor: the
    notifier is SIGKILLed three times mid-batch, the escalator once, Postgres crash-restarted once,
    then two notifiers run side by side. Every timer fires once, every SMS reaches the vendor, and
    the only repeats at the vendor are sends a kill cut off between the vendor's answer and the commit."""
    pgdata = tmp_path / "pg"
    url = start_embedded_postgres(pgdata, fresh=True)
    fake_port = free_port()
    fake = subprocess.Popen([sys.executable, "-m", "tests.fakes.run", "aliyun", str(fake_port)], cwd=ROOT)
    env = {**os.environ, "DATABASE_URL": url, "LIANDONG_ENV": "test", "LIANDONG_JWT_SECRET": JWT_SECRET,
           "LIANDONG_DISTRICT_SECRET": DISTRICT_SECRET, "LIANDONG_LOG_LEVEL": "CRITICAL",
           "LIANDONG_NOTIFIER_MODE": "live", "LIANDONG_NOTIFIER_LEASE_SECONDS": "2",
           "LIANDONG_ALIYUN_ACCESS_KEY_ID": "fake-ak", "LIANDONG_ALIYUN_ACCESS_KEY_SECRET": "fake-secret",
           "LIANDONG_ALIYUN_SMS_ENDPOINT": f"http://127.0.0.1:{fake_port}/", "LIANDONG_SMS_SIGN_NAME": "北京中路街道",
           "LIANDONG_SMS_TEMPLATE_CODE": "SMS_100001"}
    procs: list[subprocess.Popen[bytes]] = []
    try:
        migrate_and_seed_cli(env)

        async def setup() -> None:
            conn = await asyncpg.connect(plain_url(url))
            try:
                await conn.execute("UPDATE escalation_policy SET nodes = $1::jsonb WHERE kind = 'acceptance' "
                                   "AND active", json.dumps(POLICY))
                await prepare(conn, CASES, start=time.time() + 1, spread=3, prefix="R")
            finally:
                await conn.close()

        asyncio.run(setup())
        rng = random.Random(20261205)

        def start(name: str) -> subprocess.Popen[bytes]:
            proc, _ = start_ready(name, env)
            procs.append(proc)
            return proc

        escalator, notifier = start("escalator"), start("notifier")
        for round_ in range(3):
            time.sleep(rng.uniform(0.3, 1.0))
            notifier.send_signal(signal.SIGKILL)
            notifier.wait(timeout=10)
            if round_ == 0:
                escalator.send_signal(signal.SIGKILL)
                escalator.wait(timeout=10)
                escalator = start("escalator")
            if round_ == 1:
                restart_embedded_postgres(pgdata)  # a crash and recovery under both processes
            notifier = start("notifier")
        start("notifier")  # a second replica beside the last one

        async def tally() -> dict[str, int]:
            conn = await asyncpg.connect(plain_url(url))
            try:
                row = await conn.fetchrow("""
                    SELECT (SELECT count(*) FROM case_timer WHERE state = 'fired') AS fired,
                           (SELECT count(*) FROM case_timer WHERE state <> 'fired') AS not_fired,
                           (SELECT count(DISTINCT timer_id) FROM reminder) AS reminded,
                           (SELECT count(*) FROM reminder) AS reminders,
                           (SELECT count(*) FROM outbox WHERE reminder_id IS NOT NULL) AS outbox,
                           (SELECT count(*) FROM outbox WHERE state = 'sent' AND reminder_id IS NOT NULL) AS sent""")
                return dict(row)
            finally:
                await conn.close()

        deadline = time.monotonic() + 120
        final: dict[str, int] = {}
        while time.monotonic() < deadline:
            try:
                final = asyncio.run(tally())
            except (OSError, asyncpg.PostgresError):
                final = {}
            if final.get("fired") == CASES and final.get("sent") == 2 * CASES:
                break
            time.sleep(0.5)
        accepted = httpx.get(f"http://127.0.0.1:{fake_port}/__fake__/accepted", timeout=10).json()
    finally:
        for proc in procs:
            if proc.poll() is None:
                stop(proc)
        stop(fake)
        stop_embedded_postgres(pgdata)
    out_ids = [a["OutId"].split(".")[0] for a in accepted]  # OutId = L<message>.<attempt>: count messages
    duplicates = len(out_ids) - len(set(out_ids))
    print(f"after 3 notifier kills, 1 escalator kill, 1 postgres restart: {final}; vendor took {len(out_ids)} "
          f"SMS for {len(set(out_ids))} messages ({duplicates} repeats)")
    assert final["fired"] == final["reminded"] == final["reminders"] == CASES and final["not_fired"] == 0
    assert final["outbox"] == final["sent"] == 2 * CASES  # none lost
    assert len(set(out_ids)) == 2 * CASES  # every message reached the vendor
    # Repeats only from sends a kill cut off before their commit: at most the messages in flight
    # (concurrency 8, plus as many waiting on the group commit) per notifier kill.
    assert duplicates <= 3 * 16
