"""The street's calls to the district (签收, 回复) go through the outbox and the district channel to a
fake district platform on 127.0.0.1: queued in the move's transaction, signed, retried, never doubled."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from services.core.outbox.models import DeliveryAttempt, OutboxMessage
from services.notifier.channels.base import Delivery, Outcome
from services.notifier.channels.district import DistrictChannel
from services.notifier.delivery import DeliveryPolicy, Notifier
from tests.conftest import DISTRICT_SECRET
from tests.fakes.district import FakeDistrictState, build_app
from tests.fakes.server import serve_in_thread
from tests.helpers import Api, event

DISTRICT = FakeDistrictState(secret=DISTRICT_SECRET)


@pytest.fixture(scope="module")
def district_url() -> Iterator[str]:
    with serve_in_thread(build_app(DISTRICT)) as url:
        yield url


@pytest.fixture
async def notifier(api: Api, district_url: str) -> AsyncIterator[Notifier]:
    DISTRICT.__init__(secret=DISTRICT_SECRET)  # type: ignore[misc]
    DISTRICT.now = api.clock.now().timestamp()
    sessionmaker = async_sessionmaker(bind=api.session.bind, join_transaction_mode="create_savepoint",
                                      expire_on_commit=False)
    async with httpx.AsyncClient(timeout=httpx.Timeout(1.0)) as client:
        channel = DistrictChannel(client, district_url, DISTRICT_SECRET, wall_clock=lambda: api.clock.now().timestamp())
        yield Notifier(sessionmaker, {"district": channel}, api.clock, DeliveryPolicy(max_attempts=3, concurrency=1),
                       rng=random.Random(3))


async def district_rows(api: Api, case_id: int) -> list[OutboxMessage]:
    stmt = (select(OutboxMessage).where(OutboxMessage.case_id == case_id, OutboxMessage.channel == "district")
            .order_by(OutboxMessage.id).execution_options(populate_existing=True))
    return list((await api.session.execute(stmt)).scalars().all())


async def test_accept_and_reply_reach_the_district_once(api: Api, notifier: Notifier) -> None:
    created = await api.send_event(event(district_case_id="JF-OUT-1", community_code="BJZL-01"))
    case_id = created.json()["case_id"]
    assert await district_rows(api, case_id) == []  # the district's own push is not echoed back
    assert (await api.move(case_id, "accept", "c1_handler")).status_code == 200
    await notifier.run_once()
    await api.move(case_id, "start", "c1_handler")
    await api.move(case_id, "handle", "c1_handler", note="已更换井盖")
    assert (await api.move(case_id, "reply", "operator1", reply_text="已处置完毕，现场恢复")).status_code == 200
    rows = await district_rows(api, case_id)
    assert [r.message["event"]["type"] for r in rows] == ["case.accepted", "case.replied"]

    DISTRICT.script.append({"status": 503})  # the district is down for the reply's first try
    await notifier.run_once()
    assert [r.state for r in await district_rows(api, case_id)] == ["sent", "pending"]
    api.clock.advance(timedelta(minutes=5))
    DISTRICT.now = api.clock.now().timestamp()
    await notifier.run_once()
    assert [r.state for r in await district_rows(api, case_id)] == ["sent", "sent"]
    replied = [e for e in DISTRICT.events.values() if e["type"] == "case.replied"]
    assert len(replied) == 1 and replied[0]["district_case_id"] == "JF-OUT-1"
    assert replied[0]["data"]["reply_text"] == "已处置完毕，现场恢复"
    codes = (await api.session.execute(select(DeliveryAttempt.code).where(
        DeliveryAttempt.outbox_id == rows[1].id).order_by(DeliveryAttempt.id))).scalars().all()
    assert codes == ["http_503", "0"]


async def test_district_answers_sorted(api: Api, notifier: Notifier, district_url: str) -> None:
    async with httpx.AsyncClient(timeout=httpx.Timeout(0.5)) as client:
        now = api.clock.now().timestamp()
        channel = DistrictChannel(client, district_url, DISTRICT_SECRET, wall_clock=lambda: now)
        body = {"event_id": "street-1", "type": "case.replied", "district_case_id": "JF-X", "data": {}}
        one = Delivery(1, "district:street-1", {}, "", event=body)
        assert (await channel.send(one)).outcome == Outcome.sent
        again = await channel.send(one)  # a retry after a lost answer: the district drops it
        assert again.outcome == Outcome.sent and len(DISTRICT.events) == 1
        DISTRICT.script.extend([{"status": 429, "retry_after": 7}, {"delay": 1.0}])
        limited = await channel.send(one)
        assert limited.outcome == Outcome.rate_limited and limited.retry_after == 7.0
        assert (await channel.send(one)).outcome == Outcome.retryable  # timeout: safe to retry
        DISTRICT.unknown_cases.add("JF-Y")
        unknown = await channel.send(Delivery(2, "k", {}, "", event={**body, "event_id": "street-2",
                                                                     "district_case_id": "JF-Y"}))
        assert unknown.outcome == Outcome.permanent and unknown.code == "unknown_case"
        wrong = DistrictChannel(client, district_url, "not-the-secret-" * 3, wall_clock=lambda: now)
        refused = await wrong.send(Delivery(3, "k", {}, "", event={**body, "event_id": "street-3"}))
        assert refused.outcome == Outcome.permanent and refused.code == "signature_invalid"
        skewed = DistrictChannel(client, district_url, DISTRICT_SECRET, wall_clock=lambda: now - 3600)
        assert (await skewed.send(Delivery(4, "k", {}, "", event={**body, "event_id": "street-4"}))).code \
            == "timestamp_out_of_window"
