"""`make bench`, second part: the escalator and the notifier under load, next to a bare SKIP LOCKED loop.

1. steady: 10,000 timers due evenly within 10 s (1,000/s); each firing writes its reminder and two
   outbox rows (SMS to two people). Lateness = fired_at − due_at, from the database.
2. the same with 100,000 other timers pending (far in the future).
3. burst: 10,000 timers due at the same instant (a restart after downtime): drain rate.
4. the notifier delivering the steady run's outbox rows to a fake SMS server: delivered/s.
Baseline: a bare claim loop (UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED LIMIT 100)).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg

from services.core.db import plain_url
from tests.bench.bench_webhook import JWT, ROOT, SECRET, fresh_database, server_url
from tests.procs import free_port, stop, wait_ready

N = int(os.environ.get("BENCH_TIMERS", "10000"))
SPREAD = float(os.environ.get("BENCH_TIMER_SECONDS", "10"))
OTHERS = int(os.environ.get("BENCH_OTHER_TIMERS", "100000"))
NOTIFIER_SECONDS = float(os.environ.get("BENCH_NOTIFIER_SECONDS", "30"))

POLICY = [{"key": "bench.sms", "label": "压测提醒", "channels": ["sms"],
           "recipients": ["community_handler", "community_director"], "offset_seconds": 3600}]


async def prepare(conn: asyncpg.Connection, n: int, *, start: float, spread: float, prefix: str) -> None:
    """``n`` dispatched cases of BJZL-01, each with one pending timer, due evenly over ``spread``."""
    policy_id = await conn.fetchval("SELECT id FROM escalation_policy WHERE kind='acceptance' AND active")
    community = await conn.fetchval("SELECT id FROM community WHERE code='BJZL-01'")
    await conn.execute("""
        INSERT INTO passive_case (district_case_id, source, title, status, community_id, deadline_at,
            original_deadline_at, received_at, dispatched_at, updated_at, timer_generation, dispatch_count)
        SELECT $1 || g, 'hotline', '压测案件', 'dispatched', $2, now() + interval '2 days', now() + interval '2 days',
               now(), now(), now(), 1, 1 FROM generate_series(1, $3) g""", prefix, community, n)
    await conn.execute("""
        INSERT INTO case_timer (case_id, generation, node_key, policy_id, due_at, state)
        SELECT c.id, 1, 'bench.sms', $1,
               to_timestamp($2::float8 + (row_number() OVER (ORDER BY c.id) - 1) * $3::float8 / $4), 'pending'
        FROM passive_case c WHERE c.district_case_id LIKE $5 || '%'""", policy_id, start, spread, n, prefix)


async def lateness(conn: asyncpg.Connection, prefix: str) -> dict[str, float]:
    row = await conn.fetchrow("""
        SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50,
               percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99, max(ms) AS max, count(*) AS fired,
               extract(epoch FROM max(fired_at) - min(due_at)) AS span
        FROM (SELECT extract(epoch FROM t.fired_at - t.due_at) * 1000 AS ms, t.fired_at, t.due_at
              FROM case_timer t JOIN passive_case c ON c.id = t.case_id
              WHERE c.district_case_id LIKE $1 || '%' AND t.state = 'fired') x""", prefix)
    missed = await conn.fetchval("""
        SELECT count(*) FROM case_timer t JOIN passive_case c ON c.id = t.case_id
        WHERE c.district_case_id LIKE $1 || '%' AND t.state <> 'fired'""", prefix)
    doubled = await conn.fetchval("""
        SELECT count(*) FROM (SELECT timer_id FROM reminder WHERE timer_id IS NOT NULL
                              GROUP BY timer_id HAVING count(*) > 1) d""")
    return {"p50": float(row["p50"] or 0), "p99": float(row["p99"] or 0), "max": float(row["max"] or 0),
            "fired": int(row["fired"]), "span": float(row["span"] or 0), "missed": int(missed),
            "doubled": int(doubled)}


async def wait_fired(conn: asyncpg.Connection, prefix: str, n: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = await conn.fetchval("""SELECT count(*) FROM case_timer t JOIN passive_case c ON c.id = t.case_id
                                      WHERE c.district_case_id LIKE $1 || '%' AND t.state <> 'pending'""", prefix)
        if done >= n:
            return
        await asyncio.sleep(0.2)


async def raw_claim_rate(url: str) -> float:
    conn = await asyncpg.connect(plain_url(url))
    try:
        await conn.execute("CREATE TABLE bench_timer (id bigserial PRIMARY KEY, due_at timestamptz, state text)")
        await conn.execute("CREATE INDEX ON bench_timer (due_at) WHERE state = 'pending'")
        await conn.execute(
            "INSERT INTO bench_timer (due_at, state) SELECT now(), 'pending' FROM generate_series(1, $1)", N)
        started, claimed = time.perf_counter(), 0
        while True:
            done = await conn.fetch("""UPDATE bench_timer SET state = 'fired' WHERE id IN (
                SELECT id FROM bench_timer WHERE state = 'pending' AND due_at <= now() ORDER BY due_at LIMIT 100
                FOR UPDATE SKIP LOCKED) RETURNING id""")
            claimed += len(done)
            if len(done) < 100:
                break
        return claimed / (time.perf_counter() - started)
    finally:
        await conn.close()


def run_escalator(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "services.cli", "escalator"], cwd=ROOT,
                            env={**env, "LIANDONG_ESCALATOR_PORT": str(port)})
    wait_ready(f"http://127.0.0.1:{port}/readyz", proc)
    return proc, port


async def scenario(url: str, env: dict[str, str], prefix: str, *, spread: float, others: int
                   ) -> dict[str, float]:
    conn = await asyncpg.connect(plain_url(url))
    try:
        if others:
            await prepare(conn, others, start=time.time() + 86400, spread=3600, prefix=prefix + "o")
        proc, _ = await asyncio.to_thread(run_escalator, env)
        try:
            await prepare(conn, N, start=time.time() + 3, spread=spread, prefix=prefix + "n")
            await wait_fired(conn, prefix + "n", N, timeout=spread + 60)
        finally:
            await asyncio.to_thread(stop, proc)
        return await lateness(conn, prefix + "n")
    finally:
        await conn.close()


async def notifier_rate(url: str, env: dict[str, str]) -> float:
    port = free_port()
    fake = subprocess.Popen([sys.executable, "-m", "tests.fakes.run", "aliyun", str(port)], cwd=ROOT)
    conn = await asyncpg.connect(plain_url(url))
    try:
        await asyncio.sleep(1.5)  # the fake has no health route; it starts in well under a second
        pending = await conn.fetchval("SELECT count(*) FROM outbox WHERE state = 'pending'")
        nport = free_port()
        proc = subprocess.Popen([sys.executable, "-m", "services.cli", "notifier"], cwd=ROOT, env={
            **env, "LIANDONG_NOTIFIER_PORT": str(nport), "LIANDONG_NOTIFIER_MODE": "live",
            "LIANDONG_ALIYUN_ACCESS_KEY_ID": "fake-ak", "LIANDONG_ALIYUN_ACCESS_KEY_SECRET": "fake-secret",
            "LIANDONG_ALIYUN_SMS_ENDPOINT": f"http://127.0.0.1:{port}/", "LIANDONG_SMS_SIGN_NAME": "北京中路街道",
            "LIANDONG_SMS_TEMPLATE_CODE": "SMS_100001"})
        started = time.monotonic()
        try:
            deadline = started + NOTIFIER_SECONDS  # a fixed window: the rate, not the whole backlog
            while time.monotonic() < deadline:
                left = await conn.fetchval("SELECT count(*) FROM outbox WHERE state IN ('pending', 'sending')")
                if left == 0:
                    break
                await asyncio.sleep(0.2)
            # From the first delivery to the last: the process's start-up is not delivery time.
            row = await conn.fetchrow("SELECT count(*) AS sent, extract(epoch FROM max(sent_at) - min(sent_at)) "
                                      "AS span FROM outbox WHERE state = 'sent'")
            sent, elapsed = int(row["sent"]), float(row["span"] or 0)
        finally:
            await asyncio.to_thread(stop, proc)
        print(f"  notifier: {sent}/{pending} outbox rows delivered to the fake SMS server in {elapsed:.1f} s")
        return sent / elapsed if elapsed else 0.0
    finally:
        await conn.close()
        stop(fake)


async def run() -> dict[str, Any]:
    url = await fresh_database(server_url(), "liandong_bench_escalator")
    env = {**os.environ, "DATABASE_URL": url, "LIANDONG_ENV": "test", "LIANDONG_JWT_SECRET": JWT,
           "LIANDONG_DISTRICT_SECRET": SECRET, "LIANDONG_LOG_LEVEL": "WARNING"}
    subprocess.run([sys.executable, "-m", "services.cli", "migrate"], env=env, cwd=ROOT, check=True)
    subprocess.run([sys.executable, "-m", "services.cli", "seed-demo", "--force"], env=env, cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    conn = await asyncpg.connect(plain_url(url))
    await conn.execute("UPDATE escalation_policy SET nodes = $1::jsonb WHERE kind = 'acceptance' AND active",
                       json.dumps(POLICY))
    await conn.close()

    print(f"escalator bench: {N} timers due within {SPREAD:.0f} s ({N / SPREAD:.0f}/s), real escalator process")
    raw = await raw_claim_rate(url)
    print(f"  bare SKIP LOCKED claim loop:    {raw:9.0f} claims/s")
    steady = await scenario(url, env, "S", spread=SPREAD, others=0)
    print(f"  steady:        lateness p50 {steady['p50']:7.1f} ms  p99 {steady['p99']:7.1f} ms  "
          f"max {steady['max']:7.1f} ms  fired {steady['fired']}  missed {steady['missed']}  "
          f"doubled {steady['doubled']}")
    loaded = await scenario(url, env, "L", spread=SPREAD, others=OTHERS)
    print(f"  +{OTHERS} pending: lateness p50 {loaded['p50']:7.1f} ms  p99 {loaded['p99']:7.1f} ms  "
          f"max {loaded['max']:7.1f} ms  fired {loaded['fired']}  missed {loaded['missed']}")
    burst = await scenario(url, env, "B", spread=0.0, others=0)
    drain = burst["fired"] / burst["span"] if burst["span"] else 0.0
    print(f"  burst of {N} at one instant: drained at {drain:9.0f} timers/s (p99 lateness {burst['p99']:.0f} ms)")
    delivered = await notifier_rate(url, env)
    print(f"  notifier delivered {delivered:9.0f} outbox rows/s")
    return {
        "escalator.lateness_p50_ms": round(steady["p50"], 2), "escalator.lateness_p99_ms": round(steady["p99"], 2),
        "escalator.lateness_max_ms": round(steady["max"], 2),
        "escalator.fired_per_s": round(steady["fired"] / steady["span"], 1) if steady["span"] else 0.0,
        "escalator.missed": steady["missed"] + loaded["missed"] + burst["missed"],
        "escalator.doubled": steady["doubled"],
        "escalator.loaded_lateness_p99_ms": round(loaded["p99"], 2),
        "escalator.burst_drain_per_s": round(drain, 1), "notifier.delivered_per_s": round(delivered, 1),
        "baseline.raw_claim_rps": round(raw, 1),
    }


def main() -> None:
    results = asyncio.run(run())
    out = ROOT / ".bench" / "results.json"
    out.parent.mkdir(exist_ok=True)
    previous = json.loads(out.read_text()) if out.exists() else {}
    out.write_text(json.dumps({**previous, **results}, indent=2, sort_keys=True) + "\n")
    print(f"  wrote {Path(out).relative_to(ROOT)}")


if __name__ == "__main__":
    main()
