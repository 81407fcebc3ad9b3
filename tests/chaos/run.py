"""`make chaos`: the three real processes on their own embedded Postgres, under load and under faults.

For CHAOS_SECONDS (default 90) a load generator pushes signed district events (with redeliveries of
events already answered) and moves cases (接单, 处置完毕, 回复, 结案) while a monkey SIGKILLs the api, the
escalator and the notifier at random points and restarts them, and crash-restarts Postgres twice. The
fake SMS vendor and the fake district fail, throttle, slow down and lose answers at random. Then the
load stops, every event never answered is redelivered (as the district does), and the system drains.

The suite counts, and exits non-zero when an invariant breaks:
- every event the api acknowledged has its case stored, once;
- every timer that fell due fired exactly once (one reminder each), none is left pending;
- every message was delivered (SMS at the vendor, calls at the district), none dead;
- repeats at the SMS vendor only within the documented window (in-flight sends a kill cut off);
- all three processes back to ready.
Loopback only; bounded: CHAOS_SECONDS of load plus at most CHAOS_DRAIN_SECONDS (default 300) of drain.
Writes `.chaos/results.json`.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from services.core.db import plain_url
from services.core.demo import DEMO_PASSWORD
from services.core.embedded_pg import restart_embedded_postgres, start_embedded_postgres, stop_embedded_postgres
from tests.chaos.load import Load
from tests.chaos.processes import Fleet
from tests.procs import ROOT, free_port, migrate_and_seed_cli, stop

SECONDS = float(os.environ.get("CHAOS_SECONDS", "90"))
DRAIN_SECONDS = float(os.environ.get("CHAOS_DRAIN_SECONDS", "300"))
SEED = int(os.environ.get("CHAOS_SEED", "20261205"))
SECRET = "district-secret-for-tests-0123456789"
JWT = "jwt-secret-for-the-chaos-suite-0123456789"
CONCURRENCY = 8
# Longer than the notifier's 10 s vendor timeout, so a lease never runs out under a send still waiting
# for its answer; short, so the sends of a killed notifier go again soon.
LEASE_SECONDS = 15
# A reminder 4 s after dispatch to the handler, a second one 10 s after to handler and director.
POLICY = [{"key": "chaos.first", "label": "受理提醒", "channels": ["sms"], "recipients": ["community_handler"],
           "offset_seconds": 4},
          {"key": "chaos.second", "label": "升级提醒", "channels": ["sms"],
           "recipients": ["community_handler", "community_director"], "offset_seconds": 10}]


@dataclass
class Monkey:
    """Kills a random process every few seconds; Postgres crash-restarts at 1/3 and 2/3 of the run."""

    fleet: Fleet
    pgdata: Path
    rng: random.Random
    kills: dict[str, int] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)

    async def run(self, seconds: float) -> None:
        started = time.monotonic()
        pg_restarts = [seconds / 3, 2 * seconds / 3]
        while (elapsed := time.monotonic() - started) < seconds:
            await asyncio.sleep(self.rng.uniform(2.0, 6.0))
            if pg_restarts and elapsed >= pg_restarts[0]:
                pg_restarts.pop(0)
                self.log.append(f"{elapsed:5.1f}s postgres crash-restart")
                await asyncio.to_thread(restart_embedded_postgres, self.pgdata)
                self.kills["postgres"] = self.kills.get("postgres", 0) + 1
                continue
            victim = self.rng.choice(["api", "escalator", "notifier", "notifier"])
            self.log.append(f"{elapsed:5.1f}s SIGKILL {victim}")
            self.fleet.kill(victim)
            self.kills[victim] = self.kills.get(victim, 0) + 1
            await asyncio.sleep(self.rng.uniform(0.0, 1.5))
            self.fleet.start(victim)


async def supervise(fleet: Fleet, until: asyncio.Event) -> None:
    """Restart what exited on its own (Restart=always, as systemd and Kubernetes do)."""
    while not until.is_set():
        fleet.restart_exited()
        await asyncio.sleep(0.5)


async def tally(url: str) -> dict[str, Any]:
    conn = await asyncpg.connect(plain_url(url))
    try:
        row = await conn.fetchrow("""
            SELECT (SELECT count(*) FROM passive_case WHERE district_case_id LIKE 'CH-%') AS cases,
                   (SELECT count(*) FROM case_timer WHERE state = 'fired') AS fired,
                   (SELECT count(*) FROM case_timer WHERE state = 'skipped') AS skipped,
                   (SELECT count(*) FROM case_timer WHERE state = 'pending' AND due_at <= now()) AS overdue_pending,
                   (SELECT count(*) FROM case_timer WHERE state = 'pending') AS pending,
                   (SELECT count(*) FROM reminder) AS reminders,
                   (SELECT count(*) FROM (SELECT timer_id FROM reminder GROUP BY timer_id HAVING count(*) > 1) d)
                       AS timers_reminded_twice,
                   (SELECT count(*) FROM case_timer t WHERE t.state = 'fired'
                      AND NOT EXISTS (SELECT 1 FROM reminder r WHERE r.timer_id = t.id)) AS fired_unreminded""")
        out: dict[str, Any] = dict(row)
        by_state = await conn.fetch("SELECT channel, state, count(*) AS n FROM outbox GROUP BY 1, 2 ORDER BY 1, 2")
        out["outbox"] = {f"{r['channel']}.{r['state']}": r["n"] for r in by_state}
        out["outbox_unfinished"] = sum(r["n"] for r in by_state if r["state"] not in ("sent", "dead"))
        out["outbox_dead"] = sum(r["n"] for r in by_state if r["state"] == "dead")
        out["sms_sent_ids"] = [r[0] for r in await conn.fetch(
            "SELECT id FROM outbox WHERE channel = 'sms' AND state = 'sent'")]
        out["district_keys"] = [r[0] for r in await conn.fetch(
            "SELECT idem_key FROM outbox WHERE channel = 'district'")]
        out["stored_ids"] = [r[0] for r in await conn.fetch(
            "SELECT district_case_id FROM passive_case WHERE district_case_id LIKE 'CH-%'")]
        return out
    finally:
        await conn.close()


async def settle(url: str, deadline: float) -> dict[str, Any]:
    """Wait until nothing is due and nothing waits to be sent (Postgres may still be recovering)."""
    last: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            last = await tally(url)
        except (OSError, asyncpg.PostgresError):
            await asyncio.sleep(1)
            continue
        if last["overdue_pending"] == 0 and last["outbox_unfinished"] == 0:
            return last
        await asyncio.sleep(2)
    return last


def verdict(counts: dict[str, Any], load: Load, sms_accepted: list[dict[str, Any]],
            district_events: list[dict[str, Any]], kills: dict[str, int], ready: dict[str, bool]) -> dict[str, Any]:
    stored = counts.pop("stored_ids")
    sms_sent = set(counts.pop("sms_sent_ids"))
    district_keys = counts.pop("district_keys")
    # OutId is L<outbox id>.<attempt>, both base 36: which message each send at the vendor was.
    out_ids = [int(a["OutId"][1:].split(".")[0], 36) for a in sms_accepted if a.get("Action") == "SendSms"]
    at_district = {str(e.get("event_id")) for e in district_events}
    # A send the vendor took but whose result was never committed goes again once its lease runs out:
    # at most the sends in flight (``concurrency``) when the notifier is killed or Postgres goes away.
    window = (kills.get("notifier", 0) + kills.get("postgres", 0)) * CONCURRENCY
    checks = {
        "acknowledged events lost": len(load.acked - set(stored)),
        "cases stored twice": len(stored) - len(set(stored)),
        "redeliveries answered with another case": load.redelivery_mismatches,
        "timers due but not fired": counts["overdue_pending"],
        "timers reminded twice": counts["timers_reminded_twice"],
        "timers fired without a reminder": counts["fired_unreminded"],
        "messages not delivered": counts["outbox_unfinished"] + counts["outbox_dead"],
        "sms sent but not at the vendor": len(sms_sent - set(out_ids)),
        "district calls not at the district": len({k.removeprefix("district:") for k in district_keys} - at_district),
        "sms repeats beyond the window": max(0, len(out_ids) - len(set(out_ids)) - window),
        "processes not ready": sum(not ok for ok in ready.values()),
    }
    return {"checks": checks, "sms_at_vendor": len(out_ids), "sms_messages": len(set(out_ids)),
            "sms_repeats": len(out_ids) - len(set(out_ids)), "repeat_window": window,
            "district_calls": len(district_keys), "district_events_taken": len(at_district), **counts}


async def run() -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="liandong-chaos-"))
    pgdata = work / "pg"
    url = await asyncio.to_thread(start_embedded_postgres, pgdata, fresh=True)
    ports = {"aliyun": free_port(), "district": free_port(), "wecom": free_port()}
    fakes = [subprocess.Popen([sys.executable, "-m", "tests.fakes.run", "aliyun", str(ports["aliyun"]),
                               "--chaos", str(SEED)], cwd=ROOT),
             subprocess.Popen([sys.executable, "-m", "tests.fakes.run", "district", str(ports["district"]),
                               "--chaos", str(SEED + 1), "--secret", SECRET], cwd=ROOT),
             subprocess.Popen([sys.executable, "-m", "tests.fakes.run", "wecom", str(ports["wecom"])], cwd=ROOT)]
    env = {**os.environ, "DATABASE_URL": url, "LIANDONG_ENV": "test", "LIANDONG_JWT_SECRET": JWT,
           "LIANDONG_DISTRICT_SECRET": SECRET, "LIANDONG_LOG_LEVEL": "WARNING", "LIANDONG_LOG_FORMAT": "json",
           "LIANDONG_NOTIFIER_MODE": "live", "LIANDONG_NOTIFIER_LEASE_SECONDS": str(LEASE_SECONDS),
           "LIANDONG_NOTIFIER_CONCURRENCY": str(CONCURRENCY),
           "LIANDONG_ALIYUN_ACCESS_KEY_ID": "fake-ak", "LIANDONG_ALIYUN_ACCESS_KEY_SECRET": "fake-secret",
           "LIANDONG_ALIYUN_SMS_ENDPOINT": f"http://127.0.0.1:{ports['aliyun']}/",
           "LIANDONG_SMS_SIGN_NAME": "北京中路街道", "LIANDONG_SMS_TEMPLATE_CODE": "SMS_100001",
           "LIANDONG_DISTRICT_API_URL": f"http://127.0.0.1:{ports['district']}",
           "LIANDONG_WECOM_ROBOT_BASE_URL": f"http://127.0.0.1:{ports['wecom']}"}
    fleet = Fleet(env, ROOT, work / "logs")
    try:
        await asyncio.to_thread(migrate_and_seed_cli, env)
        conn = await asyncpg.connect(plain_url(url))
        await conn.execute("UPDATE escalation_policy SET nodes = $1::jsonb WHERE kind = 'acceptance' AND active",
                           json.dumps(POLICY))
        await conn.execute("UPDATE community SET wecom_robot_key = 'robot-key-1'")  # group messages: the fake WeCom
        await conn.close()
        for name in ("api", "escalator", "notifier"):
            fleet.start(name)
        await asyncio.to_thread(fleet.wait_all_ready, 60)
        print(f"chaos: {SECONDS:.0f} s of load and faults, seed {SEED}, loopback only; logs in {work / 'logs'}")
        load = Load(fleet.base_url("api"), SECRET, DEMO_PASSWORD, random.Random(SEED + 2))
        monkey = Monkey(fleet, pgdata, random.Random(SEED + 3))
        done = asyncio.Event()
        watchdog = asyncio.create_task(supervise(fleet, done))
        started = time.monotonic()
        await asyncio.gather(load.run(SECONDS), monkey.run(SECONDS))
        done.set()
        await watchdog
        fleet.restart_exited()
        ready_after = await asyncio.to_thread(fleet.wait_all_ready, 60)
        print("\n".join(f"  {line}" for line in monkey.log))
        print(f"  load: {load.summary()}")
        redelivered = await load.redeliver_unacked(deadline=time.monotonic() + 60)
        drain_started = time.monotonic()
        counts = await settle(url, time.monotonic() + DRAIN_SECONDS)
        drained_in = time.monotonic() - drain_started
        async with httpx.AsyncClient(timeout=30) as client:
            sms = (await client.get(f"http://127.0.0.1:{ports['aliyun']}/__fake__/accepted")).json()
            sms_faults = (await client.get(f"http://127.0.0.1:{ports['aliyun']}/__fake__/faults")).json()
            district = (await client.get(f"http://127.0.0.1:{ports['district']}/__fake__/events")).json()
        ready = fleet.ready()
        result = verdict(counts, load, sms, district["events"], monkey.kills, ready)
        result.update({"seconds": SECONDS, "seed": SEED, "kills": monkey.kills, "exits_on_their_own": fleet.exits,
                       "back_to_ready_seconds": round(ready_after, 1), "drained_in_seconds": round(drained_in, 1),
                       "load": load.summary(), "redelivered_after_load": redelivered,
                       "vendor_faults": {"sms": sms_faults, "district": district["faults"]},
                       "total_seconds": round(time.monotonic() - started, 1)})
        return result
    finally:
        fleet.stop_all()
        for fake in fakes:
            stop(fake)
        await asyncio.to_thread(stop_embedded_postgres, pgdata)
        shutil.rmtree(pgdata, ignore_errors=True)


def main() -> None:
    result = asyncio.run(run())
    print(f"  kills {result['kills']}, exits on their own {result['exits_on_their_own']}, back to ready in "
          f"{result['back_to_ready_seconds']} s, drained in {result['drained_in_seconds']} s")
    print(f"  cases {result['cases']}, timers fired {result['fired']} / skipped {result['skipped']}, reminders "
          f"{result['reminders']}; SMS {result['sms_messages']} messages, {result['sms_at_vendor']} at the vendor "
          f"({result['sms_repeats']} repeats, window {result['repeat_window']}); district calls "
          f"{result['district_calls']}; vendor faults {result['vendor_faults']}")
    failed = {k: v for k, v in result["checks"].items() if v}
    for name, value in result["checks"].items():
        print(f"  {'FAIL' if value else 'ok  '} {name}: {value}")
    out = ROOT / ".chaos" / "results.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    print(f"  wrote {out.relative_to(ROOT)}")
    if failed:
        raise SystemExit(f"chaos: {len(failed)} invariant(s) broken: {', '.join(failed)}")


if __name__ == "__main__":
    main()
