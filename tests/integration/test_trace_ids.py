"""One id follows a case through the three processes: the case keeps the request id that created it
(the district's ``X-Request-ID``), its outbox rows carry it (the escalator's and the district calls'),
and the escalator and notifier log their lines about it under it."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from httpx import Response
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from services.core.cases.district_contract import sign
from services.core.cases.models import PassiveCase
from services.core.db import create_sessionmaker, transaction
from services.core.logs import RequestIdFilter, bound
from services.core.outbox.models import OutboxMessage
from services.core.outbox.rows import district_call, group_message
from services.escalator.main import Escalator
from services.notifier.channels.base import Delivery, Outcome, SendResult
from services.notifier.channels.log import LogChannel
from services.notifier.delivery import DeliveryPolicy, Notifier
from tests.helpers import Api, event


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """caplog whose records carry the request id, as the processes' handler adds it."""
    caplog.set_level(logging.INFO)
    request_ids = RequestIdFilter()
    caplog.handler.addFilter(request_ids)
    yield caplog
    caplog.handler.removeFilter(request_ids)


async def send(api: Api, body: dict[str, Any], request_id: str | None) -> Response:
    """A signed district event, with the district's own request id when given."""
    raw = json.dumps(body, ensure_ascii=False).encode()
    stamp = str(int(api.clock.now().timestamp()))
    headers = {"Content-Type": "application/json", "X-Liandong-Timestamp": stamp,
               "X-Liandong-Signature": sign(api.settings.district_secret, stamp, raw)}
    if request_id is not None:
        headers["X-Request-ID"] = request_id
    return await api.client.post("/api/v1/district/events", content=raw, headers=headers)


async def case_of(api: Api, case_id: int) -> PassiveCase:
    stmt = select(PassiveCase).where(PassiveCase.id == case_id).execution_options(populate_existing=True)
    return (await api.session.execute(stmt)).scalar_one()


async def outbox_of(api: Api, case_id: int) -> list[OutboxMessage]:
    stmt = (select(OutboxMessage).where(OutboxMessage.case_id == case_id).order_by(OutboxMessage.id)
            .execution_options(populate_existing=True))
    return list((await api.session.execute(stmt)).scalars().all())


def savepoints(api: Api) -> async_sessionmaker[Any]:
    """The workers' transactions as savepoints inside the test's transaction."""
    return async_sessionmaker(bind=api.session.bind, join_transaction_mode="create_savepoint",
                              expire_on_commit=False)


async def test_a_new_case_keeps_the_request_id_of_its_delivery(api: Api) -> None:
    given = await send(api, event(), "trace-int-given")
    assert given.status_code == 201 and given.headers["x-request-id"] == "trace-int-given"
    assert (await case_of(api, given.json()["case_id"])).trace_id == "trace-int-given"
    made = await send(api, event(), None)  # no id sent: the one the api made (and returned)
    assert (await case_of(api, made.json()["case_id"])).trace_id == made.headers["x-request-id"]
    # a redelivery under another request id changes nothing
    body = event()
    first = await send(api, body, "trace-int-first")
    again = await send(api, body, "trace-int-again")
    assert again.status_code == 200 and again.json()["case_id"] == first.json()["case_id"]
    assert (await case_of(api, first.json()["case_id"])).trace_id == "trace-int-first"


async def test_the_escalator_copies_it_to_the_outbox_and_logs_each_node_under_it(
        api: Api, logs: pytest.LogCaptureFixture) -> None:
    one = (await send(api, event(community_code="BJZL-01"), "trace-int-esc-1")).json()["case_id"]
    two = (await send(api, event(community_code="BJZL-02"), "trace-int-esc-2")).json()["case_id"]
    api.clock.advance(timedelta(minutes=10))
    logs.clear()
    fired, _ = await Escalator(api.settings, api.clock)._batch(savepoints(api))
    assert {(f.case_id, f.trace_id) for f in fired} == {(one, "trace-int-esc-1"), (two, "trace-int-esc-2")}
    for case_id, trace in ((one, "trace-int-esc-1"), (two, "trace-int-esc-2")):
        rows = await outbox_of(api, case_id)
        assert rows and {r.trace_id for r in rows} == {trace}
        lines = [r for r in logs.records if r.name == "services.escalator.main" and getattr(r, "case_id", 0) == case_id]
        assert [(r.getMessage(), r.request_id) for r in lines] == [  # type: ignore[attr-defined]
            (f"case {case_id}: fired accept.wechat", trace)]


async def test_district_calls_carry_the_case_trace_id_and_other_rows_the_request_id(
        api: Api, logs: pytest.LogCaptureFixture) -> None:
    case_id = (await send(api, event(community_code="BJZL-01"), "trace-int-case")).json()["case_id"]
    logs.clear()
    accepted = await api.client.post(f"/api/v1/cases/{case_id}/accept", headers={
        **await api.headers("c1_handler"), "X-Request-ID": "trace-int-accept"})
    assert accepted.status_code == 200
    calls = [r for r in await outbox_of(api, case_id) if r.channel == "district"]
    assert [(r.message["event"]["type"], r.trace_id) for r in calls] == [("case.accepted", "trace-int-case")]
    # the move's line: this request's id, and the case's trace id beside it
    moves = [r for r in logs.records if r.name == "services.core.cases.service"]
    assert [(r.case_id, r.trace_id, r.action, r.request_id) for r in moves] == [  # type: ignore[attr-defined]
        (case_id, "trace-int-case", "accept", "trace-int-accept")]

    now = api.clock.now()
    with bound("trace-int-request"):  # no case (an active case's upload, a group message): the request's id
        assert district_call({"event_id": "x"}, "t", now, case_id=None, community_id=1)["trace_id"] \
            == "trace-int-request"
        assert group_message("k", 1, "t", now)["trace_id"] == "trace-int-request"
        assert district_call({"event_id": "x"}, "t", now, case_id=7, community_id=None,
                             trace_id="trace-int-case")["trace_id"] == "trace-int-case"
    assert group_message("k", 1, "t", now)["trace_id"] is None  # a calendar duty: no request


async def test_an_active_case_upload_carries_the_audit_request_id(api: Api) -> None:
    reported = await api.client.post("/api/v1/active-cases", headers=await api.headers("c1_grid1"), data={
        "category_code": "C0101", "description": "宝湖路12号井盖破损", "address": "宝湖路12号",
        "lat": "38.480000", "lng": "106.230000"})
    assert reported.status_code == 201, reported.text
    active_id = reported.json()["id"]
    audited = await api.client.post(f"/api/v1/active-cases/{active_id}/audit", json={"result": "valid"}, headers={
        **await api.headers("operator1"), "X-Request-ID": "trace-int-audit"})
    assert audited.status_code == 200, audited.text
    upload = (await api.session.execute(select(OutboxMessage).where(
        OutboxMessage.idem_key == f"district:street-active-{active_id}"))).scalar_one()
    assert upload.trace_id == "trace-int-audit"


class Refusing:
    """A channel whose every send is refused for good: the message becomes a dead letter."""

    name = "sms"

    def rate_key(self, delivery: Delivery) -> str | None:
        return None

    async def send(self, delivery: Delivery) -> SendResult:
        logging.getLogger("liandong.test.channel").warning("refusing outbox %s", delivery.outbox_id)
        return SendResult(Outcome.permanent, code="isv.MOBILE_NUMBER_ILLEGAL", request_summary="refused")


async def test_the_notifier_logs_every_line_of_a_message_under_its_trace_id(
        api: Api, engine: AsyncEngine, logs: pytest.LogCaptureFixture) -> None:
    # Committed rows and a real sessionmaker: the three messages go out side by side (concurrency 3)
    # and their results are written together, one task writing the others' results; yet each line
    # names its own message's trace id.
    now = api.clock.now()
    communities = [await api.community_id("BJZL-01"), await api.community_id("BJZL-02")]
    rows = [OutboxMessage(idem_key=f"trace-test:{uuid.uuid4().hex}", channel=channel, recipient=recipient,
                          message={"text": f"测试 {i}"}, state="pending", attempts=0, next_attempt_at=now,
                          created_at=now, trace_id=f"trace-int-note-{i}")
            for i, (channel, recipient) in enumerate([
                ("wecom_robot", {"community_id": communities[0], "mentioned_mobiles": []}),
                ("sms", {"person_id": 1, "mobile": "13900000011"}),
                ("wecom_robot", {"community_id": communities[1], "mentioned_mobiles": []})])]
    sessionmaker = create_sessionmaker(engine)
    async with transaction(sessionmaker) as session:
        session.add_all(rows)
    ids = {r.id: r.trace_id for r in rows}
    try:
        logs.clear()
        notifier = Notifier(sessionmaker, {"wecom_robot": LogChannel("wecom_robot"), "sms": Refusing()},
                            api.clock, DeliveryPolicy(concurrency=3))
        assert await notifier.run_once() == 3
    finally:
        async with transaction(sessionmaker) as session:
            await session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(list(ids))))
    ours = [r for r in logs.records if r.name.startswith(("services.notifier", "liandong.notifier", "liandong.test"))]
    outcomes = {r.outbox_id: r.request_id for r in ours if hasattr(r, "outbox_id")}  # type: ignore[attr-defined]
    assert outcomes == ids
    refused = next(r.id for r in rows if r.channel == "sms")
    dead = [r for r in ours if r.getMessage().startswith("dead letter")]
    assert [r.request_id for r in dead] == [ids[refused]]  # type: ignore[attr-defined]
    warned = [r for r in ours if r.name == "liandong.test.channel"]
    assert [r.request_id for r in warned] == [ids[refused]]  # type: ignore[attr-defined]
    logged = [r for r in ours if r.name == "liandong.notifier.log_channel"]
    assert sorted(r.request_id for r in logged) == sorted(  # type: ignore[attr-defined]
        ids[r.id] for r in rows if r.channel == "wecom_robot")
    assert all(r.request_id for r in ours)  # type: ignore[attr-defined]
