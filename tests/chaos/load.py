"""The chaos suite's load: the district pushing events (and redelivering some it already had answered),
community handlers accepting and handling cases, operators replying and closing them."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import httpx

from services.core.cases.district_contract import sign

COMMUNITIES = {"BJZL-01": ("c1_handler", "operator1"), "BJZL-02": ("c2_handler", "operator1"),
               "BJZL-03": ("c3_handler", "operator2")}
PUSHERS = 2  # each pushes as fast as the api answers: far above what a street's district sends


@dataclass
class Load:
    base: str
    secret: str
    password: str
    rng: random.Random
    acked: set[str] = field(default_factory=set)  # district case ids whose created event was answered 2xx
    unacked: dict[str, dict[str, Any]] = field(default_factory=dict)  # event_id → event, never answered
    answered: dict[str, tuple[dict[str, Any], int]] = field(default_factory=dict)  # event_id → (event, case id)
    redelivery_mismatches: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    _seq: count[int] = field(default_factory=lambda: count(1))

    def summary(self) -> dict[str, int]:
        return {"events_acked": len(self.acked), "events_unacked": len(self.unacked), **dict(self.counts)}

    async def run(self, seconds: float) -> None:
        stop_at = time.monotonic() + seconds
        async with httpx.AsyncClient(base_url=self.base, timeout=15) as client:
            await asyncio.gather(*(self._pusher(client, stop_at) for _ in range(PUSHERS)),
                                 *(self._mover(client, code, stop_at) for code in COMMUNITIES))

    async def redeliver_unacked(self, deadline: float) -> int:
        """What the district does with an event nobody answered: send it again, until it is answered."""
        n = 0
        async with httpx.AsyncClient(base_url=self.base, timeout=15) as client:
            while self.unacked and time.monotonic() < deadline:
                for event in list(self.unacked.values()):
                    if await self._deliver(client, event) is not None:
                        n += 1
                await asyncio.sleep(0.5)
        return n

    async def _deliver(self, client: httpx.AsyncClient, event: dict[str, Any]) -> int | None:
        """Post a freshly signed copy of ``event``; the case id when the api answered 2xx."""
        raw = json.dumps(event, ensure_ascii=False).encode()
        ts = str(int(time.time()))
        try:
            r = await client.post("/api/v1/district/events", content=raw, headers={
                "Content-Type": "application/json", "X-Liandong-Timestamp": ts,
                "X-Liandong-Signature": sign(self.secret, ts, raw), "X-Request-ID": f"chaos-{event['event_id']}"})
        except httpx.TransportError:
            self.counts["event_interrupted"] += 1
            return None
        if r.status_code not in (200, 201):  # 503 while Postgres restarts: not taken, sent again
            self.counts[f"event_{r.status_code}"] += 1
            return None
        case_id = int(r.json()["case_id"])
        dcid = event["case"]["district_case_id"]
        self.acked.add(dcid)
        self.unacked.pop(event["event_id"], None)
        self.answered[event["event_id"]] = (event, case_id)
        return case_id

    async def _pusher(self, client: httpx.AsyncClient, stop_at: float) -> None:
        while time.monotonic() < stop_at:
            n = next(self._seq)
            deadline = (datetime.now(UTC) + timedelta(days=3)).isoformat()
            event = {"event_id": f"chaos-ev-{n}", "type": "case.created", "occurred_at": datetime.now(UTC).isoformat(),
                     "case": {"district_case_id": f"CH-{n:06d}", "source": "hotline", "title": f"井盖缺失 {n}",
                              "category_code": "C0101", "community_code": self.rng.choice(list(COMMUNITIES)),
                              "address": "宝湖路12号", "deadline_at": deadline}}
            self.unacked[event["event_id"]] = event
            self.counts["events_sent"] += 1
            for _ in range(3):  # the district retries a few times at once, later ones come after the run
                if await self._deliver(client, event) is not None:
                    break
                await asyncio.sleep(0.3)
            if self.answered and self.rng.random() < 0.15:  # a redelivery of an event already answered
                event_id = self.rng.choice(list(self.answered))
                first_event, first_case = self.answered[event_id]
                again = await self._deliver(client, first_event)
                self.counts["redeliveries"] += 1
                if again is not None and again != first_case:
                    self.redelivery_mismatches += 1
            await asyncio.sleep(self.rng.uniform(0.02, 0.1))

    async def _login(self, client: httpx.AsyncClient, user: str, stop_at: float) -> dict[str, str] | None:
        while time.monotonic() < stop_at:
            try:
                r = await client.post("/api/v1/auth/token", data={"username": user, "password": self.password})
                if r.status_code == 200:
                    return {"Authorization": f"Bearer {r.json()['access_token']}"}
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.5)
        return None

    async def _move(self, client: httpx.AsyncClient, case_id: int, action: str, who: dict[str, str],
                    payload: dict[str, Any]) -> bool:
        try:
            r = await client.post(f"/api/v1/cases/{case_id}/{action}", json=payload, headers=who)
        except httpx.TransportError:
            self.counts["move_interrupted"] += 1
            return False
        if r.status_code == 200:
            self.counts[f"moved_{action}"] += 1
            return True
        self.counts[f"move_{r.status_code}"] += 1  # 409: a move that raced a kill already happened
        return False

    async def _mover(self, client: httpx.AsyncClient, community: str, stop_at: float) -> None:
        handler_name, operator_name = COMMUNITIES[community]
        handler = await self._login(client, handler_name, stop_at)
        operator = await self._login(client, operator_name, stop_at)
        if handler is None or operator is None:
            return
        while time.monotonic() < stop_at:
            await asyncio.sleep(self.rng.uniform(1.0, 5.0))  # slow enough that some reminders fire first
            try:
                r = await client.get("/api/v1/cases", params={"status": "dispatched", "limit": 20}, headers=handler)
            except httpx.TransportError:
                self.counts["move_interrupted"] += 1
                continue
            if r.status_code != 200:
                self.counts[f"list_{r.status_code}"] += 1
                continue
            for item in r.json()["items"]:
                if self.rng.random() < 0.5 or time.monotonic() >= stop_at:
                    continue
                case_id = int(item["case_id"])
                if not await self._move(client, case_id, "accept", handler, {}) or self.rng.random() < 0.5:
                    continue
                if await self._move(client, case_id, "handle", handler, {"note": "已修复"}) and \
                        await self._move(client, case_id, "reply", operator, {"reply_text": "已办结"}):
                    await self._move(client, case_id, "close", operator, {})
