"""`liandong demo`: play the district platform against a running system and print what happens.

A newcomer runs `make run` in one terminal and `liandong demo` in another and, within a minute, sees
a case pushed by the "district", dispatched to 宝湖社区, reminded in WeChat and by phone, escalated,
and accepted, which stops the chain. The acceptance policy is compressed for the demo (by default
one minute of the regulation becomes one second) and the previous version is put back afterwards.
Talks to the system only over its public HTTP API, like the real district platform and clients do.
"""

from __future__ import annotations

import json
import signal
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx

from services.core.cases.district_contract import sign
from services.core.clock import SHANGHAI
from services.core.demo import DEMO_PASSWORD


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


class Walkthrough:
    def __init__(self, base_url: str, district_secret: str, *, seconds_per_minute: float = 1.0,
                 supervisor: str = "supervisor", handler: str = "c1_handler", password: str = DEMO_PASSWORD) -> None:
        self.client = httpx.Client(base_url=base_url.rstrip("/"), timeout=10)
        self.secret = district_secret
        self.scale = seconds_per_minute / 60.0
        self.users = {"supervisor": supervisor, "handler": handler}
        self.password = password
        self.started = time.monotonic()
        self.headers: dict[str, dict[str, str]] = {}

    def say(self, text: str) -> None:
        print(f"[{time.monotonic() - self.started:5.1f}s] {text}", flush=True)

    def login(self, role: str) -> dict[str, str]:
        if role not in self.headers:
            r = self.client.post("/api/v1/auth/token", data={"username": self.users[role], "password": self.password})
            if r.status_code != 200:
                raise SystemExit(f"cannot log in as {self.users[role]!r}: {r.status_code} {r.text[:200]}")
            self.headers[role] = {"Authorization": f"Bearer {r.json()['access_token']}"}
        return self.headers[role]

    def run(self) -> int:
        sup = self.login("supervisor")
        active = self.client.get("/api/v1/policies", headers=sup).json()
        original = next(p for p in active if p["kind"] == "acceptance")
        compressed = [{**n, "offset_seconds": max(1, round(n["offset_seconds"] * self.scale))}
                      for n in original["nodes"]]
        # SIGTERM/SIGHUP end the demo like Ctrl-C does: through ``finally``, which puts the policy back.
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, _interrupt)
        self._put_policy(sup, compressed, original.get("quiet_hours"))
        self.say("acceptance policy compressed for the demo: " + ", ".join(
            f"{n['label']} +{n['offset_seconds']}s" for n in compressed))
        try:
            return self._play(compressed)
        finally:
            self._put_policy(sup, original["nodes"], original.get("quiet_hours"))
            self.say(f"acceptance policy restored (the regulation's offsets: "
                     f"{', '.join(str(n['offset_seconds'] // 60) + ' min' for n in original['nodes'])})")

    def _put_policy(self, headers: dict[str, str], nodes: list[dict[str, Any]], quiet: Any) -> None:
        r = self.client.put("/api/v1/policies/acceptance", json={"nodes": nodes, "quiet_hours": quiet}, headers=headers)
        if r.status_code != 200:
            raise SystemExit(f"cannot set the acceptance policy: {r.status_code} {r.text[:200]}")

    def _push(self) -> dict[str, Any]:
        now = datetime.now(SHANGHAI)
        district_case_id = f"JF-DEMO-{uuid.uuid4().hex[:8].upper()}"
        body = {"event_id": f"demo-{uuid.uuid4()}", "type": "case.created", "occurred_at": now.isoformat(),
                "case": {"district_case_id": district_case_id, "source": "hotline", "title": "宝湖路井盖缺失",
                         "description": "市民来电：北京中路与宝湖路交叉口井盖缺失，存在安全隐患",
                         "category_code": "C0101",
                         "address": "宝湖路12号", "community_code": "BJZL-01", "complexity": "normal",
                         "deadline_at": (now + timedelta(days=2)).isoformat()}}
        raw = json.dumps(body, ensure_ascii=False).encode()
        ts = str(int(time.time()))
        r = self.client.post("/api/v1/district/events", content=raw, headers={
            "Content-Type": "application/json", "X-Liandong-Timestamp": ts,
            "X-Liandong-Signature": sign(self.secret, ts, raw)})
        if r.status_code not in (200, 201):
            raise SystemExit(f"the webhook refused the demo case: {r.status_code} {r.text[:300]}")
        self.say(f"district platform pushed case {district_case_id}《宝湖路井盖缺失》 → "
                 f"case {r.json()['case_id']}, status {r.json()['status']} (dispatched to 宝湖社区 at once)")
        return dict(r.json())

    def _play(self, nodes: list[dict[str, Any]]) -> int:
        case_id = self._push()["case_id"]
        sup = self.login("supervisor")
        last = max(n["offset_seconds"] for n in nodes)
        seen_reminders: set[int] = set()
        seen_notes: dict[int, str] = {}
        deadline = time.monotonic() + last + 15
        while time.monotonic() < deadline:
            self._report(case_id, sup, seen_reminders, seen_notes)
            if len(seen_reminders) >= len(nodes) and all(s in ("sent", "dead", "unknown")
                                                         for s in seen_notes.values()):
                break
            time.sleep(0.25)
        if len(seen_reminders) < len(nodes):
            self.say(f"only {len(seen_reminders)} of {len(nodes)} reminders fired: is the escalator running?")
            return 1
        r = self.client.post(f"/api/v1/cases/{case_id}/accept", headers=self.login("handler"))
        self.say(f"宝湖社区 handler accepts the case → {r.json().get('status')}: the acceptance chain stops, "
                 f"the handling nodes (1/3, 2/3 of the time limit, the deadline) are planned")
        timers = self.client.get(f"/api/v1/cases/{case_id}/timers", headers=sup).json()
        for t in timers:
            due = datetime.fromisoformat(t["due_at"]).astimezone(SHANGHAI).strftime("%m-%d %H:%M:%S")
            self.say(f"  timer {t['node_key']:<22} {t['state']:<8} due {due} (Beijing time)")
        self.say(f"done. See it all: GET /api/v1/cases/{case_id}/reminders, /notifications, /events")
        return 0

    def _report(self, case_id: int, headers: dict[str, str], seen_reminders: set[int],
                seen_notes: dict[int, str]) -> None:
        for r in self.client.get(f"/api/v1/cases/{case_id}/reminders", headers=headers).json():
            if r["id"] not in seen_reminders:
                seen_reminders.add(r["id"])
                people = "、".join(p["name"] for p in r["recipients"]) or "nobody"
                self.say(f"reminder fired: {r['label']} via {', '.join(r['channels'])} → {people}")
        for n in self.client.get(f"/api/v1/cases/{case_id}/notifications", headers=headers).json():
            if seen_notes.get(n["id"]) != n["state"]:
                seen_notes[n["id"]] = n["state"]
                mentioned = len(n["recipient"].get("mentioned_mobiles") or [])
                to = n["recipient"].get("name") or f"the community group ({mentioned} mentioned)"
                self.say(f"  notifier: {n['channel']} to {to}: {n['state']}")
