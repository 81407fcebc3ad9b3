"""The three real processes (``liandong api|escalator|notifier``) on 127.0.0.1 against the test database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from services.core.cases.district_contract import sign
from services.core.demo import DEMO_PASSWORD
from tests.conftest import DISTRICT_SECRET, JWT_SECRET, ROOT
from tests.helpers import event
from tests.procs import free_port, stop, wait_ready


@pytest.fixture
def processes(new_database: Callable[[], str]) -> Iterator[dict[str, int]]:
    """Its own database (the processes commit), migrated and seeded by the CLI itself."""
    database_url = new_database()
    ports = {"api": free_port(), "escalator": free_port(), "notifier": free_port()}
    env = {**os.environ, "DATABASE_URL": database_url, "LIANDONG_ENV": "test", "LIANDONG_JWT_SECRET": JWT_SECRET,
           "LIANDONG_DISTRICT_SECRET": DISTRICT_SECRET, "LIANDONG_API_PORT": str(ports["api"]),
           "LIANDONG_ESCALATOR_PORT": str(ports["escalator"]), "LIANDONG_NOTIFIER_PORT": str(ports["notifier"]),
           "LIANDONG_LOG_LEVEL": "WARNING"}
    for command in (["migrate"], ["seed-demo", "--force"], ["create-admin", "ops", "--name", "运维"]):
        subprocess.run([sys.executable, "-m", "services.cli", *command], cwd=ROOT, check=True,
                       env={**env, "LIANDONG_ADMIN_PASSWORD": "ops-password-1"})
    again = subprocess.run([sys.executable, "-m", "services.cli", "create-admin", "ops"], cwd=ROOT,
                           env={**env, "LIANDONG_ADMIN_PASSWORD": "ops-password-1"}, capture_output=True)
    assert again.returncode == 1 and b"taken" in again.stderr
    procs = {name: subprocess.Popen([sys.executable, "-m", "services.cli", name], env=env, cwd=ROOT)
             for name in ports}
    try:
        for name, port in ports.items():
            wait_ready(f"http://127.0.0.1:{port}/readyz", procs[name])
        yield ports
    finally:
        codes = {name: stop(p) for name, p in procs.items()}
        # Graceful stop on SIGTERM. uvicorn re-raises the signal after draining, hence -SIGTERM.
        assert codes["api"] in (0, -signal.SIGTERM) and codes["escalator"] == codes["notifier"] == 0, codes


def test_signed_event_to_closed_case_over_real_http(processes: dict[str, int]) -> None:
    base = f"http://127.0.0.1:{processes['api']}"
    with httpx.Client(base_url=base, timeout=10) as client:
        body = event(district_case_id="JF-E2E-1", community_code="BJZL-01")
        raw = json.dumps(body).encode()
        ts = str(int(time.time()))
        r = client.post("/api/v1/district/events", content=raw, headers={
            "Content-Type": "application/json", "X-Liandong-Timestamp": ts,
            "X-Liandong-Signature": sign(DISTRICT_SECRET, ts, raw)})
        assert r.status_code == 201, r.text
        case_id = r.json()["case_id"]
        assert r.json()["status"] == "dispatched"

        def login(user: str) -> dict[str, str]:
            t = client.post("/api/v1/auth/token", data={"username": user, "password": DEMO_PASSWORD})
            assert t.status_code == 200, t.text
            return {"Authorization": f"Bearer {t.json()['access_token']}"}

        handler, operator = login("c1_handler"), login("operator1")
        ops = client.post("/api/v1/auth/token", data={"username": "ops", "password": "ops-password-1"})
        assert ops.status_code == 200
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {ops.json()['access_token']}"})
        assert me.json()["roles"] == [{"role": "admin", "community_id": None}]
        for action, who, payload in [("accept", handler, {}), ("handle", handler, {"note": "已修复"}),
                                     ("reply", operator, {"reply_text": "已办结"}), ("close", operator, {})]:
            r = client.post(f"/api/v1/cases/{case_id}/{action}", json=payload, headers=who)
            assert r.status_code == 200, r.text
        ledger = client.get("/api/v1/ledger", headers=operator, params={"closed": True}).json()
        assert case_id in {i["case_id"] for i in ledger["items"]}
        assert client.get("/docs").status_code == 200
    for name in ("escalator", "notifier"):
        metrics = httpx.get(f"http://127.0.0.1:{processes[name]}/metrics").text
        assert "liandong_worker_heartbeat_timestamp_seconds" in metrics


def test_escalator_process_fires_a_compressed_chain(processes: dict[str, int]) -> None:
    """A policy in seconds: the real escalator fires both nodes on time and stops at acceptance."""
    base = f"http://127.0.0.1:{processes['api']}"
    with httpx.Client(base_url=base, timeout=10) as client:
        def login(user: str) -> dict[str, str]:
            t = client.post("/api/v1/auth/token", data={"username": user, "password": DEMO_PASSWORD})
            return {"Authorization": f"Bearer {t.json()['access_token']}"}

        supervisor, operator, handler = login("supervisor"), login("operator1"), login("c1_handler")
        policy = {"nodes": [
            {"key": "accept.one", "label": "一秒提醒", "channels": ["wecom_robot"],
             "recipients": ["community_handler"], "offset_seconds": 1},
            {"key": "accept.two", "label": "两秒提醒", "channels": ["sms", "operator_task"],
             "recipients": ["community_director"], "offset_seconds": 2},
            {"key": "accept.later", "label": "稍后", "channels": ["sms"],
             "recipients": ["community_director"], "offset_seconds": 6},
        ]}
        assert client.put("/api/v1/policies/acceptance", json=policy, headers=supervisor).status_code == 200
        body = event(community_code="BJZL-01")
        raw = json.dumps(body).encode()
        ts = str(int(time.time()))
        r = client.post("/api/v1/district/events", content=raw, headers={
            "Content-Type": "application/json", "X-Liandong-Timestamp": ts,
            "X-Liandong-Signature": sign(DISTRICT_SECRET, ts, raw)})
        case_id = r.json()["case_id"]
        deadline = time.monotonic() + 15
        reminders: list[dict[str, object]] = []
        while time.monotonic() < deadline and len(reminders) < 2:
            time.sleep(0.2)
            reminders = client.get(f"/api/v1/cases/{case_id}/reminders", headers=operator).json()
        assert [r["node_key"] for r in reminders] == ["accept.one", "accept.two"]
        assert client.post(f"/api/v1/cases/{case_id}/accept", headers=handler).status_code == 200
        time.sleep(6)
        timers = client.get(f"/api/v1/cases/{case_id}/timers", headers=operator).json()
        assert [(t["node_key"], t["state"]) for t in timers] == [
            ("accept.one", "fired"), ("accept.two", "fired"), ("accept.later", "skipped")] + [
            (t["node_key"], "pending") for t in timers[3:]]
        # the case's call task (calendar duties caught up at start may add their own, by the real date)
        tasks = client.get("/api/v1/tasks", headers=operator).json()
        assert len([t for t in tasks if t["case_id"] == case_id]) == 1
    metrics = httpx.get(f"http://127.0.0.1:{processes['escalator']}/metrics").text
    assert 'liandong_escalator_timers_total{outcome="fired"} 2.0' in metrics


def test_liandong_demo_walks_a_case_through_the_chain(processes: dict[str, int]) -> None:
    """`liandong demo` against the running processes: pushed, reminded three times, accepted, restored."""
    env = {**os.environ, "LIANDONG_ENV": "test", "LIANDONG_JWT_SECRET": JWT_SECRET,
           "LIANDONG_DISTRICT_SECRET": DISTRICT_SECRET, "LIANDONG_LOG_LEVEL": "WARNING"}
    done = subprocess.run([sys.executable, "-m", "services.cli", "demo", "--force", "--api",
                           f"http://127.0.0.1:{processes['api']}", "--seconds-per-minute", "0.2"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    out = done.stdout
    print(out)
    assert done.returncode == 0, out + done.stderr
    assert "district platform pushed case JF-DEMO-" in out
    fired = [line for line in out.splitlines() if "reminder fired:" in line]
    assert [f.split("reminder fired: ")[1].split(" via")[0] for f in fired] == [
        "接单提醒（微信@）", "接单提醒（电话）", "接单超时上报"]
    assert "handler accepts the case → accepted" in out and "acceptance policy restored" in out
    with httpx.Client(base_url=f"http://127.0.0.1:{processes['api']}") as client:
        token = client.post("/api/v1/auth/token", data={"username": "supervisor", "password": DEMO_PASSWORD})
        active = client.get("/api/v1/policies", headers={"Authorization": f"Bearer {token.json()['access_token']}"})
        acceptance = next(p for p in active.json() if p["kind"] == "acceptance")
        assert [n["offset_seconds"] for n in acceptance["nodes"]] == [600, 1200, 1500]  # put back as it was
