"""The notifier when things go wrong inside it: a result that cannot be written, a lease lost to another
notifier, a district down for long, an unconfigured channel, a busy number's records on page two."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from services.core.config import Settings
from services.core.db import create_sessionmaker
from services.core.outbox.models import OutboxMessage
from services.core.outbox.repository import OutboxRepository
from services.core.timers.models import OperatorTask
from services.notifier.channels.aliyun import AliyunRpc, AliyunSmsChannel
from services.notifier.channels.base import Delivery, Found, Outcome, SendResult
from services.notifier.channels.log import LogChannel, UnconfiguredChannel
from services.notifier.delivery import DeliveryPolicy, Notifier
from services.notifier.main import build_channels
from tests.fakes.aliyun import FakeAliyunState
from tests.fakes.aliyun import build_app as build_aliyun
from tests.fakes.server import serve_in_thread
from tests.helpers import Api, event

ALIYUN = FakeAliyunState()


@pytest.fixture(scope="module")
def fake_aliyun() -> Iterator[str]:
    with serve_in_thread(build_aliyun(ALIYUN)) as url:
        yield url + "/"


def sessionmaker_of(api: Api) -> async_sessionmaker:  # type: ignore[type-arg]
    return async_sessionmaker(bind=api.session.bind, join_transaction_mode="create_savepoint", expire_on_commit=False)


async def queue(api: Api, channel: str, n: int = 1, **recipient: object) -> list[int]:
    now = api.clock.now()
    rows = [OutboxMessage(idem_key=f"fault:{channel}:{now.timestamp()}:{i}:{random.random()}", channel=channel,
                          recipient={"person_id": 1, "name": "宝湖接单员", "mobile": "13900000011", **recipient},
                          message={"text": f"提醒 {i}", "params": {"case": "JF-1"}}, state="pending", attempts=0,
                          next_attempt_at=now, created_at=now) for i in range(n)]
    api.session.add_all(rows)
    await api.session.commit()
    return [r.id for r in rows]


async def state_of(api: Api, outbox_id: int) -> OutboxMessage:
    return (await api.session.execute(select(OutboxMessage).where(OutboxMessage.id == outbox_id)
                                      .execution_options(populate_existing=True))).scalar_one()


class _Poisoned(Notifier):
    """Its write fails whenever one given message is in it (as a too-long vendor field once did)."""

    poison: int = -1

    async def _write(self, items):  # type: ignore[no-untyped-def]
        if any(m.id == self.poison for group, *_ in items for m in group):
            raise RuntimeError("this result cannot be written")
        await super()._write(items)


async def test_a_result_that_cannot_be_written_fails_only_itself(api: Api) -> None:
    notifier = _Poisoned(sessionmaker_of(api), {"log": LogChannel("log")}, api.clock,
                         DeliveryPolicy(concurrency=4))
    good, bad, other = await queue(api, "log", 3)
    notifier.poison = bad
    await notifier.run_once()
    assert [(await state_of(api, i)).state for i in (good, bad, other)] == ["sent", "sending", "sent"]


async def test_a_notifier_that_lost_its_lease_cannot_overwrite(api: Api) -> None:
    (mid,) = await queue(api, "log")
    async with sessionmaker_of(api)() as session:
        first = (await OutboxRepository(session).claim(api.clock.now(), lease=timedelta(seconds=5), limit=10))[0]
        await session.commit()
    api.clock.advance(timedelta(seconds=6))  # the first holder is too slow; another takes it over
    async with sessionmaker_of(api)() as session:
        second = (await OutboxRepository(session).claim(api.clock.now(), lease=timedelta(seconds=5), limit=10))[0]
        assert await OutboxRepository(session).finish(mid, held=second.lease_until, state="sent")
        await session.commit()
    async with sessionmaker_of(api)() as session:
        assert not await OutboxRepository(session).finish(mid, held=first.lease_until, state="pending")
        await session.commit()
    assert (await state_of(api, mid)).state == "sent"


class _Down:
    name = "district"

    def rate_key(self, delivery: Delivery) -> None:
        return None

    async def send(self, delivery: Delivery) -> SendResult:
        return SendResult(Outcome.retryable, code="http_503")


async def test_district_calls_outlast_an_outage_and_then_alert(api: Api) -> None:
    case_id = (await api.send_event(event(community_code="BJZL-01"))).json()["case_id"]
    accept = await api.move(case_id, "accept", "c1_handler")
    assert accept.status_code == 200
    notifier = Notifier(sessionmaker_of(api), {"district": _Down()}, api.clock,
                        DeliveryPolicy(max_attempts=3, patient_max_attempts=12, concurrency=1),
                        rng=random.Random(1))
    (row,) = (await api.session.execute(select(OutboxMessage).where(
        OutboxMessage.case_id == case_id, OutboxMessage.channel == "district"))).scalars().all()
    for _ in range(11):
        await notifier.run_once()
        api.clock.advance(timedelta(minutes=6))
    assert (await state_of(api, row.id)).state == "pending"  # 11 attempts: far past the usual 3
    await notifier.run_once()
    assert (await state_of(api, row.id)).state == "dead"
    tasks = (await api.session.execute(select(OperatorTask).where(OperatorTask.outbox_id == row.id))).scalars().all()
    assert tasks and tasks[0].reminder_id is None and "district" in tasks[0].label


async def test_the_district_hears_a_cases_news_in_order(api: Api) -> None:
    case_id = (await api.send_event(event(community_code="BJZL-01"))).json()["case_id"]
    await api.move(case_id, "accept", "c1_handler")
    await api.move(case_id, "start", "c1_handler")
    await api.move(case_id, "handle", "c1_handler", note="已处置")
    await api.move(case_id, "reply", "operator1", reply_text="已处置完毕")
    async with sessionmaker_of(api)() as session:
        claimed = await OutboxRepository(session).claim(api.clock.now(), lease=timedelta(seconds=60), limit=50)
        mine = [m.message["event"]["type"] for m in claimed if m.case_id == case_id]
        await session.rollback()
    assert mine == ["case.accepted"]  # the reply waits until the acceptance went through


def test_live_mode_never_pretends_an_unconfigured_channel_sent() -> None:
    channels = build_channels(Settings(env="dev", notifier_mode="live"), httpx.AsyncClient())
    assert isinstance(channels["sms"], UnconfiguredChannel) and isinstance(channels["district"], UnconfiguredChannel)
    assert isinstance(build_channels(Settings(env="dev"), httpx.AsyncClient())["sms"], LogChannel)


async def test_lookup_reads_every_page_and_matches_this_attempt(fake_aliyun: str) -> None:
    ALIYUN.reset()
    async with httpx.AsyncClient(timeout=5) as client:
        rpc = AliyunRpc(client, fake_aliyun, "2017-05-25", ALIYUN.access_key_id, ALIYUN.secret)
        sms = AliyunSmsChannel(rpc, "北京中路街道", "SMS_100001")
        for i in range(1, 61):  # a busy number: 60 messages today, the one we look for is the last
            assert (await sms.send(Delivery(i, f"k{i}", {"mobile": "13900000011"}, "x"))).outcome == Outcome.sent
        today = ALIYUN.today()
        found = await sms.lookup(Delivery(60, "k60", {"mobile": "13900000011"}, "x"), [today])
        assert found.found == Found.accepted  # on page 2
        retry = await sms.lookup(Delivery(60, "k60", {"mobile": "13900000011"}, "x", attempt=2), [today])
        assert retry.found == Found.absent  # attempt 2 of message 60 never reached the vendor
        ALIYUN.send_status = 2
        failed = await sms.lookup(Delivery(5, "k5", {"mobile": "13900000011"}, "x"), [today])
        assert failed.found == Found.failed


class _OneStuckSms:
    """An SMS vendor that answers at once, except for one message it holds until told to answer."""

    name = "sms"

    def __init__(self, stuck_text: str) -> None:
        self.stuck_text = stuck_text
        self.release = asyncio.Event()
        self.sent: list[str] = []

    def rate_key(self, delivery: Delivery) -> str | None:
        return None

    async def send(self, delivery: Delivery) -> SendResult:
        if delivery.text == self.stuck_text:
            await self.release.wait()
        self.sent.append(delivery.text)
        return SendResult(Outcome.sent, code="OK", request_summary="test")


async def test_a_slow_vendor_answer_holds_up_one_slot_not_the_queue(committing_api: Api, engine: AsyncEngine) -> None:
    """The notifier's pump refills a freed slot at once: while one send hangs (a vendor answering at its
    timeout), the messages queued behind it are claimed and delivered; the stuck one finishes after."""
    api = committing_api  # sends run side by side, each in its own transaction
    ids = await queue(api, "sms", n=80)  # more than a run_once batch (50), which would wait for the stuck one
    channel = _OneStuckSms("提醒 0")
    notifier = Notifier(create_sessionmaker(engine), {"sms": channel}, api.clock, DeliveryPolicy(concurrency=4))
    pump = asyncio.create_task(notifier.pump(recheck_seconds=0.05, budget_seconds=60))
    for _ in range(3000):  # the other 79 go out while message 0 hangs (polled: at most 30 s on a slow machine)
        if len(channel.sent) == 79:
            break
        await asyncio.sleep(0.01)
    assert len(channel.sent) == 79 and "提醒 0" not in channel.sent and not pump.done()
    channel.release.set()
    assert await pump == 80
    assert [(await state_of(api, i)).state for i in ids] == ["sent"] * 80


async def test_the_pump_returns_on_budget_without_waiting_for_a_hung_send(committing_api: Api,
                                                                          engine: AsyncEngine) -> None:
    """A send waiting out its vendor's timeout does not hold the pump past its budget (the worker loop must
    get back to SIGTERM and the next claim); it carries on in flight, and drain() waits for it."""
    api = committing_api
    ids = await queue(api, "sms", n=3)
    channel = _OneStuckSms("提醒 1")
    notifier = Notifier(create_sessionmaker(engine), {"sms": channel}, api.clock, DeliveryPolicy(concurrency=4))
    assert await notifier.pump(recheck_seconds=0.02, budget_seconds=2.0) == 3  # returns at 2 s: one send hangs
    assert notifier.busy and sorted(channel.sent) == ["提醒 0", "提醒 2"]
    assert await notifier.pump(recheck_seconds=0.02, budget_seconds=0.1) == 0  # nothing new; still in flight
    channel.release.set()
    await notifier.drain()
    assert not notifier.busy
    assert [(await state_of(api, i)).state for i in ids] == ["sent"] * 3
