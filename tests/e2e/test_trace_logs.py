"""Following a case by one id through the three real processes: the district's ``X-Request-ID``
appears in a JSON log line of the api, of the escalator (the fired node) and of the notifier (the
delivery), as the lines' ``request_id``."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from services.core.cases.district_contract import sign
from services.core.db import plain_url
from tests.conftest import DISTRICT_SECRET, JWT_SECRET, ROOT
from tests.helpers import event
from tests.procs import free_port, migrate_and_seed_cli, stop, wait_ready

# One node, one second after dispatch, to the community's group: in log mode it goes to the notifier's log.
POLICY = [{"key": "trace.robot", "label": "追踪提醒", "channels": ["wecom_robot"],
           "recipients": ["community_handler"], "offset_seconds": 1}]
NAMES = ("api", "escalator", "notifier")


def json_lines(path: Path) -> list[dict[str, Any]]:
    """The JSON lines of a process's stderr so far."""
    out = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:  # a line being written
                pass
    return out


async def _compress_policy(url: str) -> None:
    conn = await asyncpg.connect(plain_url(url))
    try:
        await conn.execute("UPDATE escalation_policy SET nodes = $1::jsonb WHERE kind = 'acceptance' AND active",
                           json.dumps(POLICY))
    finally:
        await conn.close()


def test_one_request_id_in_the_logs_of_all_three_processes(new_database: Callable[[], str], tmp_path: Path) -> None:
    url = new_database()
    ports = {name: free_port() for name in NAMES}
    env = {**os.environ, "DATABASE_URL": url, "LIANDONG_ENV": "test", "LIANDONG_JWT_SECRET": JWT_SECRET,
           "LIANDONG_DISTRICT_SECRET": DISTRICT_SECRET, "LIANDONG_API_PORT": str(ports["api"]),
           "LIANDONG_ESCALATOR_PORT": str(ports["escalator"]), "LIANDONG_NOTIFIER_PORT": str(ports["notifier"]),
           "LIANDONG_LOG_LEVEL": "INFO", "LIANDONG_LOG_FORMAT": "json", "LIANDONG_NOTIFIER_MODE": "log"}
    migrate_and_seed_cli(env)
    asyncio.run(_compress_policy(url))
    logs = {name: tmp_path / f"{name}.log" for name in NAMES}
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name in NAMES:
            with logs[name].open("wb") as err:  # the child keeps its own descriptor
                procs[name] = subprocess.Popen([sys.executable, "-m", "services.cli", name], env=env, cwd=ROOT,
                                               stdout=subprocess.DEVNULL, stderr=err)
        for name in NAMES:
            wait_ready(f"http://127.0.0.1:{ports[name]}/readyz", procs[name])

        trace = f"trace-e2e-{uuid.uuid4().hex[:12]}"
        raw = json.dumps(event(community_code="BJZL-01"), ensure_ascii=False).encode()  # auto-dispatched
        ts = str(int(time.time()))
        r = httpx.post(f"http://127.0.0.1:{ports['api']}/api/v1/district/events", content=raw, timeout=10, headers={
            "Content-Type": "application/json", "X-Liandong-Timestamp": ts,
            "X-Liandong-Signature": sign(DISTRICT_SECRET, ts, raw), "X-Request-ID": trace})
        assert r.status_code == 201 and r.headers["x-request-id"] == trace, r.text
        case_id = r.json()["case_id"]

        found: dict[str, list[dict[str, Any]]] = {}
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(found) < len(NAMES):
            time.sleep(0.2)
            found = {name: lines for name in NAMES
                     if (lines := [x for x in json_lines(logs[name]) if x.get("request_id") == trace])}
    finally:
        codes = {name: stop(p) for name, p in procs.items()}
    assert set(found) == set(NAMES), {name: logs[name].read_text(errors="replace")[-2000:] for name in NAMES}
    assert any(x.get("case_id") == case_id and x["msg"] == "district case.created" for x in found["api"])
    assert any(x.get("case_id") == case_id and x.get("node") == "trace.robot" for x in found["escalator"])
    assert any(x.get("case_id") == case_id and x.get("outcome") == "sent" for x in found["notifier"])
    # uvicorn re-raises SIGTERM after draining, hence -SIGTERM
    assert codes["api"] in (0, -signal.SIGTERM) and codes["escalator"] == codes["notifier"] == 0, codes
    everything = [line for name in NAMES for line in logs[name].read_text(errors="replace").splitlines() if line]
    assert all(line.startswith("{") for line in everything), [x for x in everything if not x.startswith("{")][:5]
