"""The notifier against a fake WeCom robot server on 127.0.0.1: sent, dead, sliding window, 45009
pause, retries with backoff; every attempt recorded and no credential in it."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from services.core.clock import SHANGHAI
from services.core.org.models import Community
from services.core.outbox.models import DeliveryAttempt, OutboxMessage
from services.core.timers.firing import fire_due
from services.notifier.channels.aliyun import AliyunRpc, AliyunSmsChannel, AliyunVoiceChannel
from services.notifier.channels.wecom_robot import WecomRobotChannel
from services.notifier.delivery import DeliveryPolicy, Notifier
from tests.fakes.aliyun import FakeAliyunState
from tests.fakes.aliyun import build_app as build_aliyun
from tests.fakes.server import serve_in_thread
from tests.fakes.wecom import FakeWecomState, build_app
from tests.helpers import Api, event

STATE = FakeWecomState()
SEQ = itertools.count()


@pytest.fixture(scope="module")
def fake_wecom() -> Iterator[str]:
    with serve_in_thread(build_app(STATE)) as url:
        yield url


@pytest.fixture
async def notifier(api: Api, fake_wecom: str) -> AsyncIterator[Notifier]:
    STATE.reset()
    STATE.now = 0.0
    for code, key in (("BJZL-01", "robot-key-1"), ("BJZL-02", "gone-key")):
        await api.session.execute(update(Community).where(Community.code == code).values(wecom_robot_key=key))
    await api.session.commit()
    # The notifier's transactions become savepoints inside the test's transaction.
    sessionmaker = async_sessionmaker(bind=api.session.bind, join_transaction_mode="create_savepoint",
                                      expire_on_commit=False)
    async with httpx.AsyncClient(timeout=2.0) as client:
        yield Notifier(sessionmaker, {"wecom_robot": WecomRobotChannel(client, fake_wecom)}, api.clock,
                       DeliveryPolicy(max_attempts=3, concurrency=1), rng=random.Random(7))


async def queue(api: Api, n: int = 1, community: str = "BJZL-01", spacing: float = 3.0,
                mobile: str = "13900000011") -> list[int]:
    """``n`` robot messages, all due now; ``spacing`` seconds apart in due time (3 s: too far to merge)."""
    cid = await api.community_id(community)
    now = api.clock.now()
    rows = [OutboxMessage(idem_key=f"test:{community}:{next(SEQ)}", channel="wecom_robot",
                          recipient={"community_id": cid, "mentioned_mobiles": [mobile]},
                          message={"text": f"【大联动·接单提醒】测试 {i}"}, state="pending", attempts=0,
                          next_attempt_at=now - timedelta(seconds=spacing * (n - i)), created_at=now)
            for i in range(n)]
    api.session.add_all(rows)
    await api.session.commit()
    return [r.id for r in rows]


async def states(api: Api, ids: list[int]) -> list[str]:
    rows = (await api.session.execute(select(OutboxMessage.state).where(OutboxMessage.id.in_(ids))
                                      .order_by(OutboxMessage.id))).scalars().all()
    return list(rows)


def advance(api: Api, seconds: float) -> None:
    api.clock.advance(timedelta(seconds=seconds))
    STATE.now += seconds


async def test_sent_with_mentions_and_recorded_without_the_key(api: Api, notifier: Notifier) -> None:
    ids = await queue(api)
    assert await notifier.run_once() == 1
    assert await states(api, ids) == ["sent"]
    assert [(m["key"], m["mentioned_mobile_list"]) for m in STATE.sent] == [("robot-key-1", ["13900000011"])]
    attempt = (await api.session.execute(select(DeliveryAttempt))).scalars().one()
    assert (attempt.outcome, attempt.code, attempt.attempt) == ("sent", "0", 1)
    assert "robot-key-1" not in attempt.request_summary and "robot-key-1" not in str(attempt.response)


async def test_unknown_key_is_a_dead_letter(api: Api, notifier: Notifier) -> None:
    ids = await queue(api, community="BJZL-02")
    await notifier.run_once()
    assert await states(api, ids) == ["dead"]
    no_robot = await queue(api, community="BJZL-03")  # no robot configured at all
    await notifier.run_once()
    assert await states(api, no_robot) == ["dead"]


async def test_sliding_window_holds_the_21st_message(api: Api, notifier: Notifier) -> None:
    ids = await queue(api, 21)
    await notifier.run_once(limit=50)
    assert (await states(api, ids)).count("sent") == 20
    assert len(STATE.sent) == 20
    assert len(STATE.requests) == 20  # the 21st never reached the robot: no 45009 was provoked
    advance(api, 59)
    await notifier.run_once()
    assert (await states(api, ids)).count("sent") == 20  # the window has not moved yet
    advance(api, 1.5)
    await notifier.run_once()
    assert await states(api, ids) == ["sent"] * 21
    attempts = (await api.session.execute(select(DeliveryAttempt.outcome))).scalars().all()
    assert attempts == ["sent"] * 21  # waiting for the window is not an attempt


async def test_reminders_due_together_go_as_one_group_message(api: Api, notifier: Notifier) -> None:
    ids = await queue(api, 2, spacing=0.5) + await queue(api, 1, spacing=0, mobile="13900000022")
    await notifier.run_once()
    assert await states(api, ids) == ["sent"] * 3
    assert len(STATE.sent) == 1
    assert STATE.sent[0]["mentioned_mobile_list"] == ["13900000011", "13900000022"]
    assert STATE.sent[0]["content"].count("【大联动·接单提醒】") == 3
    attempts = (await api.session.execute(select(DeliveryAttempt.outbox_id))).scalars().all()
    assert sorted(attempts) == sorted(ids)  # each message keeps its own record


async def test_45009_pauses_the_robot(api: Api, notifier: Notifier) -> None:
    STATE.script.append({"errcode": 45009})
    ids = await queue(api, 2)
    await notifier.run_once()
    assert await states(api, ids) == ["pending", "pending"]
    assert len(STATE.requests) == 1  # the second one did not knock on a paused robot
    advance(api, 64)
    await notifier.run_once()
    assert len(STATE.requests) == 1
    advance(api, 2)
    await notifier.run_once()
    assert await states(api, ids) == ["sent", "sent"]
    assert len(STATE.sent) == 1  # both waited for the same moment, so they went as one message
    assert STATE.sent[0]["content"].count("【大联动·接单提醒】") == 2


async def test_retryable_errors_back_off_then_die(api: Api, notifier: Notifier) -> None:
    STATE.script.extend([{"errcode": -1}, {"status": 502}])
    ids = await queue(api)
    await notifier.run_once()
    row = (await api.session.execute(select(OutboxMessage).where(OutboxMessage.id == ids[0]))).scalar_one()
    assert (row.state, row.attempts, row.last_error) == ("pending", 1, "-1")
    assert row.next_attempt_at > api.clock.now()
    advance(api, 10)
    await notifier.run_once()
    await api.session.refresh(row)
    assert (row.state, row.attempts, row.last_error) == ("pending", 2, "http_502")
    advance(api, 10)
    await notifier.run_once()
    await api.session.refresh(row)
    assert (row.state, row.attempts) == ("sent", 3)

    STATE.script.extend([{"errcode": -1}] * 3)
    doomed = await queue(api)
    for _ in range(3):
        await notifier.run_once()
        advance(api, 30)
    assert await states(api, doomed) == ["dead"]  # max_attempts=3


async def test_notifications_api_and_dead_letter_retry(api: Api, notifier: Notifier) -> None:
    r = await api.send_event(event(community_code="BJZL-02"))  # BJZL-02's robot key is wrong
    case_id = r.json()["case_id"]
    advance(api, 600)
    await fire_due(api.session, api.clock.now())
    await api.session.commit()
    await notifier.run_once()
    items = (await api.get(f"/api/v1/cases/{case_id}/notifications", "operator1")).json()
    assert [(i["channel"], i["state"], i["last_error"]) for i in items] == [("wecom_robot", "dead", "93000")]
    assert [t["outcome"] for t in items[0]["tries"]] == ["permanent"]
    tasks = (await api.get("/api/v1/tasks", "operator1")).json()  # the fallback: a person calls
    assert [(t["case_id"], t["label"]) for t in tasks] == [(case_id, "通知失败（wecom_robot）：请电话联系")]
    assert (await api.get(f"/api/v1/cases/{case_id}/notifications", "c1_handler")).status_code == 404

    r = await api.post(f"/api/v1/notifications/{items[0]['id']}/retry", "c2_handler")
    assert r.status_code == 403
    await api.session.execute(update(Community).where(Community.code == "BJZL-02")
                              .values(wecom_robot_key="robot-key-2"))  # someone fixed the key
    await api.session.commit()
    r = await api.post(f"/api/v1/notifications/{items[0]['id']}/retry", "operator1")
    assert r.status_code == 200 and r.json()["state"] == "pending"
    assert (await api.post(f"/api/v1/notifications/{items[0]['id']}/retry", "operator1")).status_code == 409
    await notifier.run_once()
    items = (await api.get(f"/api/v1/cases/{case_id}/notifications", "operator1")).json()
    assert items[0]["state"] == "sent" and [t["outcome"] for t in items[0]["tries"]] == ["permanent", "sent"]


ALIYUN = FakeAliyunState()


@pytest.fixture(scope="module")
def fake_aliyun() -> Iterator[str]:
    with serve_in_thread(build_aliyun(ALIYUN)) as url:
        yield url + "/"


@pytest.fixture
async def phone_notifier(api: Api, fake_aliyun: str) -> AsyncIterator[Notifier]:
    ALIYUN.reset()
    sessionmaker = async_sessionmaker(bind=api.session.bind, join_transaction_mode="create_savepoint",
                                      expire_on_commit=False)
    async with httpx.AsyncClient(timeout=httpx.Timeout(1.0, connect=1.0)) as client:
        sms = AliyunRpc(client, fake_aliyun, "2017-05-25", ALIYUN.access_key_id, ALIYUN.secret)
        voice = AliyunRpc(client, fake_aliyun, "2017-05-25", ALIYUN.access_key_id, ALIYUN.secret)
        yield Notifier(sessionmaker, {"sms": AliyunSmsChannel(sms, "北京中路街道", "SMS_100001"),
                                      "voice": AliyunVoiceChannel(voice, "TTS_200001", "057100000000")},
                       api.clock, DeliveryPolicy(max_attempts=3, concurrency=1), rng=random.Random(7))


async def queue_phone(api: Api, channel: str, mobile: str = "13900000011") -> int:
    row = OutboxMessage(idem_key=f"test:{channel}:{mobile}:{next(SEQ)}", channel=channel,
                        recipient={"person_id": 1, "name": "宝湖接单员", "mobile": mobile},
                        message={"text": "提醒", "params": {"case": "JF-1", "title": "井盖", "node": "电话提醒"}},
                        state="pending", attempts=0, next_attempt_at=api.clock.now(), created_at=api.clock.now())
    api.session.add(row)
    await api.session.commit()
    return row.id


async def outbox_row(api: Api, outbox_id: int) -> OutboxMessage:
    return (await api.session.execute(select(OutboxMessage).where(OutboxMessage.id == outbox_id)
                                      .execution_options(populate_existing=True))).scalar_one()


async def test_sms_and_voice_are_signed_and_sent(api: Api, phone_notifier: Notifier) -> None:
    sms, call = await queue_phone(api, "sms"), await queue_phone(api, "voice")
    await phone_notifier.run_once()
    assert [(await outbox_row(api, i)).state for i in (sms, call)] == ["sent", "sent"]
    assert [p["Action"] for p in ALIYUN.accepted] == ["SendSms", "SingleCallByTts"]
    assert json.loads(ALIYUN.accepted[0]["TemplateParam"])["case"] == "JF-1"
    refs = (await api.session.execute(
        select(DeliveryAttempt.provider_ref).order_by(DeliveryAttempt.id))).scalars().all()
    assert refs == ["1^0", "2^100"]
    summaries = (await api.session.execute(select(DeliveryAttempt.request_summary))).scalars().all()
    assert all("139****0011" in s and "13900000011" not in s for s in summaries)  # numbers masked in records


async def test_sms_business_errors_inside_http_200(api: Api, phone_notifier: Notifier) -> None:
    bad = await queue_phone(api, "sms", mobile="12345")
    await phone_notifier.run_once()
    row = await outbox_row(api, bad)
    assert (row.state, row.last_error) == ("dead", "isv.MOBILE_NUMBER_ILLEGAL")
    ALIYUN.script.append({"Code": "isp.SYSTEM_ERROR"})
    flaky = await queue_phone(api, "sms")
    await phone_notifier.run_once()
    assert (await outbox_row(api, flaky)).state == "pending"
    advance(api, 10)
    await phone_notifier.run_once()
    assert (await outbox_row(api, flaky)).state == "sent"


async def wait_until(condition: Callable[[], bool]) -> None:
    """For the fake's own thread to finish a request our client gave up on (bounded, no fixed sleep)."""
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the fake never got there")


def processed_sms() -> list[dict[str, str]]:
    return [p for p in ALIYUN.accepted if p.get("Action") == "SendSms" and "_date" in p]


async def test_ambiguous_sms_is_looked_up_not_resent(api: Api, phone_notifier: Notifier) -> None:
    ALIYUN.date = api.clock.now().astimezone(SHANGHAI).strftime("%Y%m%d")
    ALIYUN.script.append({"delay": 1.5})  # longer than the client's 1 s read timeout; then it goes out
    sms = await queue_phone(api, "sms")
    await phone_notifier.run_once()
    row = await outbox_row(api, sms)
    assert (row.state, row.last_error) == ("checking", "ReadTimeout")
    await wait_until(lambda: len(processed_sms()) == 1)
    assert await phone_notifier.run_once() == 0  # nothing before the lookup delay
    advance(api, 60)
    await phone_notifier.run_once()
    row = await outbox_row(api, sms)
    assert (row.state, row.attempts) == ("sent", 1)
    assert len(processed_sms()) == 1  # found in the vendor's records (by OutId), not sent twice
    outcomes = (await api.session.execute(select(DeliveryAttempt.outcome).where(
        DeliveryAttempt.outbox_id == sms).order_by(DeliveryAttempt.id))).scalars().all()
    assert outcomes == ["ambiguous", "lookup_accepted"]


async def test_ambiguous_sms_the_vendor_never_took_is_sent_again(api: Api, phone_notifier: Notifier) -> None:
    ALIYUN.date = api.clock.now().astimezone(SHANGHAI).strftime("%Y%m%d")
    ALIYUN.script.append({"delay": 1.5, "Code": "isp.SYSTEM_ERROR"})  # slow, and then refused
    sms = await queue_phone(api, "sms")
    await phone_notifier.run_once()
    await wait_until(lambda: not ALIYUN.script)
    ALIYUN.script.append({"Code": "isp.SYSTEM_ERROR"})  # the first lookup fails: look again later
    advance(api, 60)
    await phone_notifier.run_once()
    assert (await outbox_row(api, sms)).state == "checking"
    advance(api, 60)
    await phone_notifier.run_once()  # not in the records: safe to send again
    assert (await outbox_row(api, sms)).state == "pending"
    await phone_notifier.run_once()
    row = await outbox_row(api, sms)
    assert (row.state, row.attempts) == ("sent", 2) and len(processed_sms()) == 1
    outcomes = (await api.session.execute(select(DeliveryAttempt.outcome).where(
        DeliveryAttempt.outbox_id == sms).order_by(DeliveryAttempt.id))).scalars().all()
    assert outcomes == ["ambiguous", "lookup_undecided", "lookup_absent", "sent"]


async def test_ambiguous_call_is_never_rung_again(api: Api, phone_notifier: Notifier) -> None:
    ALIYUN.script.append({"delay": 1.5})
    call = await queue_phone(api, "voice")
    await phone_notifier.run_once()
    row = await outbox_row(api, call)
    assert (row.state, row.last_error) == ("unknown", "ReadTimeout")  # no record to search: a person confirms
    advance(api, 3600)
    assert await phone_notifier.run_once() == 0  # not picked up again by itself


async def test_callee_window_waits_instead_of_calling_twice_a_minute(api: Api, phone_notifier: Notifier) -> None:
    first, second = await queue_phone(api, "voice"), await queue_phone(api, "voice")
    await phone_notifier.run_once()
    assert [(await outbox_row(api, i)).state for i in (first, second)] == ["sent", "pending"]
    assert (await outbox_row(api, second)).last_error == "isv.BUSINESS_LIMIT_CONTROL"
    advance(api, 61)
    ALIYUN.now += 61
    await phone_notifier.run_once()
    assert (await outbox_row(api, second)).state == "sent"


async def test_wrong_secret_is_a_permanent_configuration_error(api: Api, fake_aliyun: str) -> None:
    sessionmaker = async_sessionmaker(bind=api.session.bind, join_transaction_mode="create_savepoint",
                                      expire_on_commit=False)
    async with httpx.AsyncClient() as client:
        rpc = AliyunRpc(client, fake_aliyun, "2017-05-25", ALIYUN.access_key_id, "not-the-secret")
        notifier = Notifier(sessionmaker, {"sms": AliyunSmsChannel(rpc, "北京中路街道", "SMS_100001")}, api.clock,
                            DeliveryPolicy(concurrency=1))
        sms = await queue_phone(api, "sms")
        await notifier.run_once()
    row = await outbox_row(api, sms)
    assert (row.state, row.last_error) == ("dead", "SignatureDoesNotMatch")
