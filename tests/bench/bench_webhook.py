"""`make bench`: the district webhook against two baselines measured in the same run.

1. raw asyncpg single-row inserts (32 concurrent connections): what this machine's Postgres takes;
2. a minimal FastAPI endpoint validating a similar body and inserting one row (one uvicorn worker);
3. the real webhook (`liandong api`, one uvicorn worker): signature, validation, inbox, case, events.
Everything runs on 127.0.0.1 and stops by itself. Figures go to stdout and .bench/results.json.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import uvloop

from services.core.cases.district_contract import sign
from services.core.db import plain_url
from tests.bench.loadgen import LoadResult, run_load
from tests.procs import free_port, stop, wait_ready

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "32"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
WARMUP = float(os.environ.get("BENCH_WARMUP", "3"))
SECRET = "bench-district-secret-0123456789abcdef0123"
JWT = "bench-jwt-secret-0123456789abcdef0123456789"


def server_url() -> str:
    given = os.environ.get("DATABASE_URL") or os.environ.get("LIANDONG_DATABASE_URL")
    if given:
        return given
    from services.core.embedded_pg import start_embedded_postgres

    return start_embedded_postgres(ROOT / ".data" / "pg-bench", fresh=True)


async def fresh_database(server: str, name: str) -> str:
    conn = await asyncpg.connect(plain_url(server))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    from sqlalchemy.engine import make_url

    return make_url(server).set(database=name).render_as_string(hide_password=False)


_seq = itertools.count()
_run = f"{os.getpid()}-{int(time.time())}"


def event_body() -> bytes:
    n = next(_seq)
    return json.dumps({
        "event_id": f"bench-{_run}-{n}", "type": "case.created", "occurred_at": "2026-12-04T09:00:00+08:00",
        "case": {"district_case_id": f"JF-B-{_run}-{n}", "source": "hotline", "title": "井盖缺失",
                 "description": "北京中路与宝湖路交叉口井盖缺失", "category_code": "C0101",
                 "address": "宝湖路12号", "location": {"lat": 38.48, "lng": 106.23},
                 "deadline_at": "2026-12-06T18:00:00+08:00", "complexity": "normal",
                 "community_code": "BJZL-01",
                 "attachments": [{"url": "https://example.invalid/a.jpg", "name": "现场"}]},
    }, ensure_ascii=False).encode()


def signed() -> tuple[bytes, dict[str, str]]:
    body = event_body()
    ts = str(int(time.time()))
    return body, {"X-Liandong-Timestamp": ts, "X-Liandong-Signature": sign(SECRET, ts, body)}


def unsigned() -> tuple[bytes, dict[str, str]]:
    return event_body(), {}


async def raw_insert_rate(url: str) -> float:
    pool = await asyncpg.create_pool(plain_url(url), min_size=CLIENTS, max_size=CLIENTS)
    await pool.execute("CREATE TABLE IF NOT EXISTS bench_raw (id bigserial PRIMARY KEY, payload jsonb)")
    payload = json.dumps({"title": "井盖缺失", "n": 1})
    done = 0
    stop_at = time.perf_counter() + SECONDS / 2

    async def worker() -> None:
        nonlocal done
        async with pool.acquire() as conn:
            while time.perf_counter() < stop_at:
                await conn.execute("INSERT INTO bench_raw (payload) VALUES ($1)", payload)
                done += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CLIENTS)))
    rate = done / (time.perf_counter() - start)
    await pool.close()
    return rate


def load(port: int, path: str, factory: Any) -> LoadResult:
    return uvloop.run(run_load("127.0.0.1", port, path, factory, clients=CLIENTS, seconds=SECONDS,
                               warmup=WARMUP))


def serve_and_load(label: str, command: Callable[[int], list[str]], env: dict[str, str], *, ready: str,
                   path: str, factory: Any) -> LoadResult:
    """Start a server on a free loopback port, load it, stop it, print its line."""
    port = free_port()
    proc = subprocess.Popen(command(port), env={**env, "LIANDONG_API_PORT": str(port)}, cwd=ROOT)
    try:
        wait_ready(f"http://127.0.0.1:{port}{ready}", proc)
        result = load(port, path, factory)
    finally:
        stop(proc)
    print(f"  {label + ':':33} {result.rps:9.0f} req/s  p50 {result.percentile_ms(0.5):6.1f} ms"
          f"  p99 {result.percentile_ms(0.99):6.1f} ms  errors {result.errors}")
    return result


def main() -> None:
    server = server_url()
    url = asyncio.run(fresh_database(server, "liandong_bench"))
    env = {**os.environ, "DATABASE_URL": url, "BENCH_DATABASE_URL": url, "LIANDONG_ENV": "test",
           "LIANDONG_JWT_SECRET": JWT, "LIANDONG_DISTRICT_SECRET": SECRET, "LIANDONG_LOG_LEVEL": "WARNING",
           "LIANDONG_DB_POOL_SIZE": "20"}
    py = sys.executable
    subprocess.run([py, "-m", "services.cli", "migrate"], env=env, cwd=ROOT, check=True)
    subprocess.run([py, "-m", "services.cli", "seed-demo", "--force"], env=env, cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    asyncio.run(_create_baseline_table(url))

    print(f"bench: {CLIENTS} clients, {WARMUP:.0f}s warm-up + {SECONDS:.0f}s measured, loopback only")
    raw_rps = uvloop.run(raw_insert_rate(url))
    print(f"  raw asyncpg single-row inserts:   {raw_rps:9.0f} rows/s")

    base = serve_and_load(
        "minimal FastAPI insert endpoint",
        lambda port: [py, "-m", "uvicorn", "tests.bench.minimal_app:app", "--port", str(port), "--loop", "uvloop",
                      "--http", "httptools", "--no-access-log", "--log-level", "warning"],
        env, ready="/docs", path="/events", factory=unsigned)
    hook = serve_and_load("district webhook (liandong api)", lambda port: [py, "-m", "services.cli", "api"], env,
                          ready="/readyz", path="/api/v1/district/events", factory=signed)
    ratio = hook.rps / base.rps if base.rps else 0.0
    print(f"  webhook / minimal endpoint:       {ratio:9.2f}  (target >= 0.50; p99 target <= 50 ms)")

    results = {
        "webhook.rps": round(hook.rps, 1), "webhook.p50_ms": round(hook.percentile_ms(0.5), 2),
        "webhook.p99_ms": round(hook.percentile_ms(0.99), 2), "webhook.errors": hook.errors,
        "webhook.ratio_to_fastapi_insert": round(ratio, 3),
        "baseline.fastapi_insert_rps": round(base.rps, 1),
        "baseline.fastapi_insert_p99_ms": round(base.percentile_ms(0.99), 2),
        "baseline.raw_insert_rps": round(raw_rps, 1), "bench.clients": CLIENTS, "bench.seconds": SECONDS,
    }
    out = ROOT / ".bench" / "results.json"
    out.parent.mkdir(exist_ok=True)
    previous = json.loads(out.read_text()) if out.exists() else {}
    out.write_text(json.dumps({**previous, **results}, indent=2, sort_keys=True) + "\n")
    print(f"  wrote {out.relative_to(ROOT)}")


async def _create_baseline_table(url: str) -> None:
    conn = await asyncpg.connect(plain_url(url))
    try:
        await conn.execute("CREATE TABLE IF NOT EXISTS bench_event (event_id text PRIMARY KEY, payload jsonb)")
    finally:
        await conn.close()


if __name__ == "__main__":
    main()
