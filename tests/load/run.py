"""`make load`: a realistic mix against the real api over a database of 1,000,000 passive cases.

Loopback only, bounded in time (LOAD_SECONDS, default 30). The mix, by weight: operators' ledger
queries (filters, sorting, paging) 45%, district events 25%, case moves (accept of fresh cases) 15%,
grid workers' reports with a photo 5%, statistics 10%. Requests arrive at LOAD_RATE a second (open
loop, default 40); LOAD_RATE=0 runs LOAD_CLIENTS clients back to back instead (the most it can take).
Prints p50/p99 and errors per kind, the EXPLAIN ANALYZE plans of the ledger's queries, and writes
`.bench/load.json`.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from typing import Any

import asyncpg
import httpx

from services.core.cases.district_contract import sign
from services.core.db import plain_url
from services.core.demo import DEMO_PASSWORD
from tests.bench.bench_webhook import JWT, ROOT, SECRET, fresh_database, server_url
from tests.procs import free_port, migrate_and_seed_cli, stop, wait_ready

CASES = int(os.environ.get("LOAD_CASES", "1000000"))
SECONDS = float(os.environ.get("LOAD_SECONDS", "30"))
CLIENTS = int(os.environ.get("LOAD_CLIENTS", "16"))
# Requests a second, arriving whether or not earlier ones are done (open loop); 0: CLIENTS clients
# back to back instead (closed loop), which finds the most the api can take.
RATE = float(os.environ.get("LOAD_RATE", "40"))
PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 200  # a 50 KB JPEG, by its magic bytes

LEDGER_QUERIES = [
    {"community_id": "{c1}"},
    {"community_id": "{c1}", "sort": "deadline_at"},
    {"community_id": "{c2}", "status": "dispatched"},
    {"community_id": "{c1}", "overdue": "true"},
    {"community_id": "{c2}", "closed": "false", "sort": "-reminder_count"},
    {"community_id": "{c1}", "offset": "500"},
]


async def seed_cases(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(plain_url(url))
    try:
        ids = dict(await conn.fetch("SELECT code, id FROM community"))
        started = time.perf_counter()
        await conn.execute("""
            INSERT INTO passive_case (district_case_id, source, title, status, community_id, deadline_at,
                original_deadline_at, received_at, dispatched_at, updated_at, timer_generation, dispatch_count,
                category_code, reminder_count)
            SELECT 'LOAD-' || g, (ARRAY['hotline','leader','online','media'])[1 + g % 4], '压测案件 ' || g,
                   (ARRAY['closed', 'closed', 'closed', 'replied', 'handled', 'in_progress', 'accepted',
                          'dispatched'])[1 + g % 8],
                   (ARRAY[$1::bigint, $2::bigint, $3::bigint])[1 + g % 3],
                   now() - (g % 400) * interval '1 day' + interval '3 days',
                   now() - (g % 400) * interval '1 day' + interval '3 days',
                   now() - (g % 400) * interval '1 day' - (g % 1440) * interval '1 minute',
                   now() - (g % 400) * interval '1 day', now(), 1, 1, 'C0101', g % 4
            FROM generate_series(1, $4) g""", ids["BJZL-01"], ids["BJZL-02"], ids["BJZL-03"], CASES)
        await conn.execute("ANALYZE passive_case")
        print(f"  {CASES:,} cases inserted and analysed in {time.perf_counter() - started:.0f} s")
        return {"c1": ids["BJZL-01"], "c2": ids["BJZL-02"]}
    finally:
        await conn.close()


async def plans(url: str, ids: dict[str, int]) -> list[str]:
    """The ledger's statement for two typical queries, as Postgres runs it."""
    conn = await asyncpg.connect(plain_url(url))
    out = []
    try:
        for where, order in ((f"community_id = {ids['c1']}", "received_at DESC"),
                             (f"community_id = {ids['c2']} AND status = 'dispatched'", "received_at DESC"),
                             (f"community_id = {ids['c2']} AND status <> 'closed'", "reminder_count DESC")):
            rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM passive_case WHERE {where} "
                                    f"ORDER BY {order}, id DESC LIMIT 50")
            out.append(f"-- WHERE {where} ORDER BY {order} LIMIT 50\n" + "\n".join(r[0] for r in rows))
        day = "now() - interval '3 days'"  # the daily statistics read only the cases with a moment in the day
        rows = await conn.fetch(f"""EXPLAIN (ANALYZE, BUFFERS) SELECT community_id, count(*) FROM passive_case
            WHERE community_id IS NOT NULL AND ((dispatched_at >= {day} AND dispatched_at < {day} + interval '1 day')
              OR (accepted_at >= {day} AND accepted_at < {day} + interval '1 day')
              OR (closed_at >= {day} AND closed_at < {day} + interval '1 day')
              OR (deadline_at >= {day} AND deadline_at < {day} + interval '1 day')) GROUP BY community_id""")
        out.append("-- the daily statistics' cases of one day\n" + "\n".join(r[0] for r in rows))
        return out
    finally:
        await conn.close()


async def drive(base: str, ids: dict[str, int]) -> dict[str, dict[str, float]]:
    rng = random.Random(2026)
    lat: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        async def token(user: str) -> dict[str, str]:
            r = await client.post("/api/v1/auth/token", data={"username": user, "password": DEMO_PASSWORD})
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        operator, handler, supervisor = await token("operator1"), await token("c1_handler"), await token("supervisor")
        grid_worker = await token("c1_grid1")
        fresh: list[int] = []
        seq = iter(range(10**9))

        async def one(due: float | None = None) -> None:
            kind = rng.choices(["ledger", "district", "move", "report", "stats"], [45, 25, 15, 5, 10])[0]
            started = due or time.perf_counter()
            if kind == "ledger":
                q = {k: v.format(**ids) for k, v in rng.choice(LEDGER_QUERIES).items()}
                r = await client.get("/api/v1/ledger", params=q, headers=operator)
            elif kind == "district":
                body = {"event_id": f"load-{os.getpid()}-{next(seq)}", "type": "case.created",
                        "occurred_at": "2026-12-04T09:00:00+08:00", "case": {
                            "district_case_id": f"LD-{os.getpid()}-{next(seq)}", "source": "hotline", "title": "井盖",
                            "category_code": "C0101", "community_code": "BJZL-01",
                            "deadline_at": "2026-12-30T18:00:00+08:00"}}
                raw = json.dumps(body).encode()
                ts = str(int(time.time()))
                r = await client.post("/api/v1/district/events", content=raw, headers={
                    "Content-Type": "application/json", "X-Liandong-Timestamp": ts,
                    "X-Liandong-Signature": sign(SECRET, ts, raw)})
                if r.status_code == 201:
                    fresh.append(r.json()["case_id"])
            elif kind == "move" and fresh:
                r = await client.post(f"/api/v1/cases/{fresh.pop()}/accept", headers=handler)
            elif kind == "report":  # a grid worker's report with a photo (主动发现)
                r = await client.post("/api/v1/active-cases", headers=grid_worker, data={
                    "category_code": "C0101", "description": "宝湖路12号井盖破损", "address": "宝湖路12号",
                    "lat": "38.480000", "lng": "106.230000"},
                    files=[("photos_before", ("现场.jpg", PHOTO, "image/jpeg"))])
            else:
                kind = "stats"
                r = await client.get("/api/v1/stats/daily", params={"date": "2026-12-04"}, headers=supervisor)
            lat[kind].append(time.perf_counter() - started)
            if r.status_code >= 400:
                errors[kind] += 1

        async def worker(stop_at: float) -> None:
            while time.perf_counter() < stop_at:
                await one()

        async def arrivals(stop_at: float) -> None:
            """Open loop: requests arrive at RATE a second (Poisson), whether or not earlier ones are done,
            and each is timed from when it was due (no coordinated omission)."""
            tasks: set[asyncio.Task[None]] = set()
            due = time.perf_counter()
            while due < stop_at:
                due += rng.expovariate(RATE)
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                task = asyncio.create_task(one(due))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            await asyncio.gather(*tasks)

        stop_at = time.perf_counter() + SECONDS
        if RATE:
            await arrivals(stop_at)
        else:
            await asyncio.gather(*(worker(stop_at) for _ in range(CLIENTS)))
    out = {}
    for kind, values in sorted(lat.items()):
        values.sort()
        out[kind] = {"requests": len(values), "per_s": round(len(values) / SECONDS, 1),
                     "p50_ms": round(values[len(values) // 2] * 1000, 1),
                     "p99_ms": round(values[min(len(values) - 1, int(0.99 * len(values)))] * 1000, 1),
                     "errors": errors[kind]}
    return out


async def run() -> dict[str, Any]:
    url = await fresh_database(server_url(), "liandong_load")
    env = {**os.environ, "DATABASE_URL": url, "LIANDONG_ENV": "test", "LIANDONG_JWT_SECRET": JWT,
           "LIANDONG_DATA_DIR": tempfile.mkdtemp(prefix="liandong-load-"),  # the reports' photos
           "LIANDONG_DISTRICT_SECRET": SECRET, "LIANDONG_LOG_LEVEL": "WARNING"}
    await asyncio.to_thread(migrate_and_seed_cli, env)
    mode = f"{RATE:.0f} requests/s arriving (open loop)" if RATE else f"{CLIENTS} clients back to back (closed loop)"
    print(f"load: {CASES:,} cases, {mode} for {SECONDS:.0f} s, loopback only")
    ids = await seed_cases(url)
    port = free_port()
    api = await asyncio.to_thread(subprocess.Popen, [sys.executable, "-m", "services.cli", "api"], cwd=ROOT,
                                  env={**env, "LIANDONG_API_PORT": str(port)})
    try:
        await asyncio.to_thread(wait_ready, f"http://127.0.0.1:{port}/readyz", api)
        figures = await drive(f"http://127.0.0.1:{port}", ids)
    finally:
        await asyncio.to_thread(stop, api)
    for kind, f in figures.items():
        print(f"  {kind:9s} {f['per_s']:7.1f}/s  p50 {f['p50_ms']:7.1f} ms  p99 {f['p99_ms']:7.1f} ms  "
              f"errors {f['errors']}")
    shown = await plans(url, ids)
    print("\n".join(shown))
    return {"cases": CASES, "seconds": SECONDS, "rate": RATE, "clients": None if RATE else CLIENTS,
            "figures": figures, "plans": shown}


def main() -> None:
    results = asyncio.run(run())
    out = ROOT / ".bench" / "load.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
    print(f"  wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
