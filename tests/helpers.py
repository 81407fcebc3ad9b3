"""Helpers shared by the tests: tokens for demo users, signed district events, cases in any status."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta
from typing import Any

from httpx import AsyncClient, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.cases.district_contract import sign
from services.core.cases.models import PassiveCase
from services.core.cases.rules import CaseStatus
from services.core.clock import FrozenClock
from services.core.config import Settings
from services.core.org.models import Community, Person
from services.core.security import create_access_token

_seq = itertools.count(1)


def case_payload(**case: Any) -> dict[str, Any]:
    n = next(_seq)
    body = {
        "district_case_id": f"JF-2026-{n:06d}", "source": "hotline", "title": f"井盖缺失 {n}",
        "description": "北京中路与宝湖路交叉口井盖缺失", "category_code": "C0101", "address": "宝湖路12号",
        "location": {"lat": 38.48, "lng": 106.23}, "deadline_at": "2026-12-06T18:00:00+08:00",
        "complexity": "normal", "attachments": [{"url": "https://example.invalid/a.jpg", "name": "现场"}],
    }
    body.update(case)
    return body


def event(type_: str = "case.created", *, event_id: str | None = None, **case: Any) -> dict[str, Any]:
    return {"event_id": event_id or f"e-{next(_seq)}", "type": type_,
            "occurred_at": "2026-12-04T09:00:00+08:00",
            "case": case_payload(**case) if type_ == "case.created" else case}


class Api:
    """An httpx client over the app plus the test's session, clock and settings."""

    def __init__(self, client: AsyncClient, session: AsyncSession, clock: FrozenClock,
                 settings: Settings) -> None:
        self.client = client
        self.session = session
        self.clock = clock
        self.settings = settings
        self._ids: dict[str, int] = {}

    async def person_id(self, username: str) -> int:
        pid = (await self.session.execute(select(Person.id).where(Person.username == username))).scalar_one()
        return int(pid)

    async def community_id(self, code: str) -> int:
        cid = (await self.session.execute(select(Community.id).where(Community.code == code))).scalar_one()
        return int(cid)

    async def headers(self, username: str) -> dict[str, str]:
        """A fresh token at the clock's now (tests move the clock past a token's lifetime)."""
        if username not in self._ids:
            self._ids[username] = await self.person_id(username)
        token = create_access_token(self._ids[username], secret=self.settings.jwt_secret, now=self.clock.now(),
                                    minutes=self.settings.access_token_minutes)
        return {"Authorization": f"Bearer {token}"}

    async def get(self, path: str, as_: str, **kw: Any) -> Response:
        return await self.client.get(path, headers=await self.headers(as_), **kw)

    async def post(self, path: str, as_: str, json_body: Any = None, **kw: Any) -> Response:
        return await self.client.post(path, json=json_body, headers=await self.headers(as_), **kw)

    async def move(self, case_id: int, action: str, as_: str, **body: Any) -> Response:
        return await self.post(f"/api/v1/cases/{case_id}/{action}", as_, body or None)

    async def send_event(self, body: Any, *, ts: int | None = None, secret: str | None = None,
                         raw: bytes | None = None, signature: str | None = None) -> Response:
        data = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode()
        stamp = str(ts if ts is not None else int(self.clock.now().timestamp()))
        sig = signature if signature is not None else sign(secret or self.settings.district_secret, stamp, data)
        return await self.client.post("/api/v1/district/events", content=data, headers={
            "Content-Type": "application/json", "X-Liandong-Timestamp": stamp, "X-Liandong-Signature": sig})

    async def make_case(self, status: CaseStatus, community_code: str | None = "BJZL-01",
                        **values: Any) -> PassiveCase:
        """A case put straight into ``status`` (with the stamps that status implies)."""
        now = self.clock.now()
        community_id = await self.community_id(community_code) if community_code else None
        n = next(_seq)
        row: dict[str, Any] = dict(
            district_case_id=f"JF-T-{n:06d}", source="hotline", title=f"测试案件 {n}", status=status.value,
            community_id=community_id if status != CaseStatus.received else None,
            deadline_at=now + timedelta(days=2), original_deadline_at=now + timedelta(days=2),
            received_at=now - timedelta(hours=1), updated_at=now, attachments=[],
        )
        if status != CaseStatus.received:
            row["dispatched_at"] = now - timedelta(minutes=50)
            row["dispatch_count"] = 1
        if status not in (CaseStatus.received, CaseStatus.dispatched, CaseStatus.returned):
            row["accepted_at"] = now - timedelta(minutes=45)
        if status == CaseStatus.extension_requested:
            row["extension_requested_at"] = now - timedelta(minutes=5)
            row["extension_requested_deadline_at"] = now + timedelta(days=5)
        if status in (CaseStatus.handled, CaseStatus.replied, CaseStatus.closed):
            row["handled_at"] = now - timedelta(minutes=30)
        if status in (CaseStatus.replied, CaseStatus.closed):
            row["replied_at"] = now - timedelta(minutes=20)
        if status == CaseStatus.closed:
            row["closed_at"] = now - timedelta(minutes=10)
        row.update(values)
        case = PassiveCase(**row)
        self.session.add(case)
        await self.session.commit()  # ends this savepoint: a failing request cannot roll it back
        return case
