"""Reminder timelines with an injected clock: the 10/20/25 acceptance chain, the handling nodes,
exactly-once firing, manual reminders and the operator's to-do list."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select

from services.core.cases.models import PassiveCase
from services.core.db import create_sessionmaker, transaction
from services.core.outbox.models import OutboxMessage
from services.core.timers.firing import fire_due
from services.core.timers.models import CaseTimer, OperatorTask, Reminder
from tests.helpers import Api, event


async def fire(api: Api) -> list[tuple[str, str | None]]:
    fired = await fire_due(api.session, api.clock.now())
    await api.session.commit()
    return [(f.node_key, f.skipped) for f in fired]


async def dispatched_case(api: Api) -> int:
    r = await api.send_event(event())
    case_id = int(r.json()["case_id"])
    d = await api.move(case_id, "dispatch", "operator1", community_id=await api.community_id("BJZL-01"))
    assert d.status_code == 200
    return case_id


async def test_acceptance_chain_fires_in_order_and_stops_at_accept(api: Api) -> None:
    t0 = api.clock.now()
    case_id = await dispatched_case(api)
    timers = (await api.get(f"/api/v1/cases/{case_id}/timers", "operator1")).json()
    assert [(t["node_key"], t["due_at"]) for t in timers] == [
        ("accept.wechat", (t0 + timedelta(minutes=10)).isoformat().replace("+00:00", "Z")),
        ("accept.phone", (t0 + timedelta(minutes=20)).isoformat().replace("+00:00", "Z")),
        ("accept.escalate", (t0 + timedelta(minutes=25)).isoformat().replace("+00:00", "Z")),
    ]

    api.clock.advance(timedelta(minutes=9, seconds=59))
    assert await fire(api) == []  # never early
    api.clock.advance(timedelta(seconds=1))
    assert await fire(api) == [("accept.wechat", None)]
    robot = (await api.session.execute(select(OutboxMessage).where(OutboxMessage.case_id == case_id))).scalars().all()
    assert [(o.channel, o.recipient["mentioned_mobiles"]) for o in robot] == [
        ("wecom_robot", [(await api.session.get_one(_Person, await api.person_id("c1_handler"))).mobile])]
    assert "已分派10分钟未接单" in robot[0].message["text"] and "宝湖社区" in robot[0].message["text"]

    api.clock.advance(timedelta(minutes=10))
    assert await fire(api) == [("accept.phone", None)]
    channels = (await api.session.execute(select(OutboxMessage.channel).where(
        OutboxMessage.case_id == case_id).order_by(OutboxMessage.id))).scalars().all()
    assert channels == ["wecom_robot", "voice"]
    tasks = (await api.get("/api/v1/tasks", "operator1")).json()
    assert [(t["case_id"], t["label"]) for t in tasks] == [(case_id, "接单提醒（电话）")]
    assert (await api.get("/api/v1/tasks", "operator2")).json() == []

    api.clock.advance(timedelta(minutes=2))
    accepted = await api.move(case_id, "accept", "c1_handler")
    assert accepted.json()["acceptance_timed_out"] is True  # 22 minutes > 10
    api.clock.advance(timedelta(minutes=3))
    assert await fire(api) == [("accept.escalate", "superseded")]  # accepting stopped the chain

    reminders = (await api.get(f"/api/v1/cases/{case_id}/reminders", "operator1")).json()
    assert [r["node_key"] for r in reminders] == ["accept.wechat", "accept.phone"]
    ledger = (await api.get("/api/v1/ledger", "operator1")).json()["items"]
    assert next(i for i in ledger if i["case_id"] == case_id)["reminder_count"] == 2


async def test_auto_dispatched_case_gets_its_chain_in_the_same_statement(api: Api) -> None:
    r = await api.send_event(event(community_code="BJZL-02"))
    timers = (await api.get(f"/api/v1/cases/{r.json()['case_id']}/timers", "supervisor")).json()
    assert [(t["node_key"], t["generation"], t["state"]) for t in timers] == [
        ("accept.wechat", 1, "pending"), ("accept.phone", 1, "pending"), ("accept.escalate", 1, "pending")]


async def test_handling_nodes_follow_the_deadline_and_extensions(api: Api) -> None:
    t0 = api.clock.now()
    case_id = await dispatched_case(api)  # received at t0, deadline 2026-12-06T10:00Z
    deadline = (await api.get(f"/api/v1/cases/{case_id}", "operator1")).json()["deadline_at"]
    assert deadline == "2026-12-06T10:00:00Z"
    limit = timedelta(days=2, hours=9)  # from receipt (t0 = 2026-12-04T01:00Z) to the deadline
    await api.move(case_id, "accept", "c1_handler")
    handling = [t for t in (await api.get(f"/api/v1/cases/{case_id}/timers", "operator1")).json()
                if t["node_key"].startswith("handle.")]
    assert [(t["node_key"], t["due_at"]) for t in handling] == [
        ("handle.first_third", (t0 + limit / 3).isoformat().replace("+00:00", "Z")),
        ("handle.second_third", (t0 + limit * 2 / 3).isoformat().replace("+00:00", "Z")),
        ("handle.deadline", "2026-12-06T10:00:00Z"),
    ]
    api.clock.set(t0 + limit / 3)
    assert await fire(api) == [("accept.wechat", "superseded"), ("accept.phone", "superseded"),
                               ("accept.escalate", "superseded"), ("handle.first_third", None)]
    voice = (await api.session.execute(select(OutboxMessage).where(
        OutboxMessage.case_id == case_id, OutboxMessage.channel == "voice"))).scalars().all()
    assert [o.recipient["name"] for o in voice] == ["宝湖接单员"]  # the responsible person

    # An extension moves the deadline: the remaining nodes are planned anew, the old ones skip.
    new_deadline = api.clock.now() + timedelta(days=5)
    r = await api.move(case_id, "request-extension", "c1_handler", requested_deadline_at=new_deadline.isoformat(),
                       note="需要协调")
    assert r.status_code == 200, r.text
    r = await api.move(case_id, "grant-extension", "operator1")
    assert r.status_code == 200, r.text
    api.clock.set(t0 + limit * 2 / 3)
    assert await fire(api) == [("handle.second_third", "superseded")]
    pending = (await api.session.execute(select(CaseTimer.node_key, CaseTimer.generation, CaseTimer.due_at).where(
        CaseTimer.case_id == case_id, CaseTimer.state == "pending").order_by(CaseTimer.due_at))).all()
    # generation 3 (dispatch 1, accept 2, extension 3), counted to the new deadline; the old
    # deadline node of generation 2 waits to skip itself (cancelling never waits on a timer's lock)
    assert [(p.node_key, p.generation) for p in pending] == [
        ("handle.first_third", 3), ("handle.deadline", 2), ("handle.second_third", 3), ("handle.deadline", 3)]
    assert pending[-1].due_at == new_deadline
    r = await api.move(case_id, "handle", "c1_handler", note="已处置")
    assert r.status_code == 200, r.text
    api.clock.set(new_deadline + timedelta(seconds=1))
    assert {skip for _, skip in await fire(api)} <= {"superseded", None}
    kinds = (await api.session.execute(select(Reminder.node_key).where(Reminder.case_id == case_id))).scalars().all()
    assert "handle.deadline" not in kinds  # handled before the deadline: no escalation


async def test_manual_reminders_and_tasks(api: Api) -> None:
    case_id = await dispatched_case(api)
    api.clock.advance(timedelta(minutes=20))
    await fire(api)
    task = (await api.get("/api/v1/tasks", "operator1")).json()[0]
    handler = await api.person_id("c1_handler")
    r = await api.post(f"/api/v1/cases/{case_id}/reminders", "operator1",
                       {"called_person_id": handler, "outcome": "answered", "note": "已答复马上接单",
                        "task_id": task["id"]})
    assert r.status_code == 201, r.text
    assert r.json()["kind"] == "manual" and r.json()["recipients"][0]["name"] == "宝湖接单员"
    assert (await api.get("/api/v1/tasks", "operator1")).json() == []
    again = await api.post(f"/api/v1/cases/{case_id}/reminders", "operator1",
                           {"called_name": "某人", "outcome": "busy", "task_id": task["id"]})
    assert again.status_code == 409 and again.json()["error"]["code"] == "task_done"
    assert (await api.post(f"/api/v1/cases/{case_id}/reminders", "c1_handler",
                           {"called_name": "x", "outcome": "busy"})).status_code == 403
    assert (await api.post(f"/api/v1/cases/{case_id}/reminders", "operator2",
                           {"called_name": "x", "outcome": "busy"})).status_code == 404
    bad = await api.post(f"/api/v1/cases/{case_id}/reminders", "operator1", {"outcome": "busy"})
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "called_person_id"
    detail = (await api.get(f"/api/v1/cases/{case_id}", "operator1")).json()
    assert detail["reminder_count"] == 3  # 10-minute @, 20-minute call, and the logged call


async def test_two_firers_fire_each_node_exactly_once(committing_api: Api, engine: object) -> None:
    api = committing_api
    ids = []
    for _ in range(5):
        r = await api.send_event(event(community_code="BJZL-01"))
        ids.append(r.json()["case_id"])
    api.clock.advance(timedelta(minutes=30))
    sessionmaker = create_sessionmaker(engine)  # type: ignore[arg-type]

    async def firer() -> int:
        async with transaction(sessionmaker) as session:
            return len(await fire_due(session, api.clock.now(), limit=4))

    counts = await asyncio.gather(*(firer() for _ in range(4)))
    while sum(counts) < 15:  # batches of 4: keep going until all 15 are done
        counts.append(await firer())
    assert sum(counts) == 15
    async with sessionmaker() as s:
        assert (await s.execute(select(func.count()).select_from(Reminder))).scalar_one() == 15
        assert (await s.execute(select(func.count()).select_from(CaseTimer).where(
            CaseTimer.state == "pending"))).scalar_one() == 0
        rows = (await s.execute(select(PassiveCase.reminder_count).where(PassiveCase.id.in_(ids)))).scalars().all()
        assert rows == [3] * 5
        assert (await s.execute(select(func.count()).select_from(OperatorTask))).scalar_one() == 10
        await s.execute(OperatorTask.__table__.delete())
        await s.execute(OutboxMessage.__table__.delete())
        await s.execute(Reminder.__table__.delete())
        await s.execute(CaseTimer.__table__.delete())
        await s.commit()


from services.core.org.models import Person as _Person  # noqa: E402


async def test_policy_versions_and_quiet_hours(api: Api) -> None:
    active = (await api.get("/api/v1/policies", "c1_handler")).json()
    assert [(p["kind"], p["version"]) for p in active] == [("acceptance", 1), ("handling", 1)]
    body = {"nodes": [{"key": "accept.call", "label": "接单提醒（电话）", "channels": ["voice"],
                       "recipients": ["community_handler"], "offset_seconds": 300}],
            "quiet_hours": {"start": "22:00", "end": "08:00"}}
    assert (await api.client.put("/api/v1/policies/acceptance", json=body,
                                 headers=await api.headers("operator1"))).status_code == 403
    r = await api.client.put("/api/v1/policies/acceptance", json=body, headers=await api.headers("supervisor"))
    assert r.status_code == 200 and r.json()["version"] == 2
    versions = (await api.get("/api/v1/policies/acceptance/versions", "supervisor")).json()
    assert [(v["version"], v["active"]) for v in versions] == [(1, False), (2, True)]

    bad = {"nodes": [{**body["nodes"][0], "recipients": ["emperor"]}]}
    r = await api.client.put("/api/v1/policies/acceptance", json=bad, headers=await api.headers("supervisor"))
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "nodes[0].recipients"
    bad = {"nodes": [{**body["nodes"][0], "offset_seconds": None}]}
    r = await api.client.put("/api/v1/policies/acceptance", json=bad, headers=await api.headers("supervisor"))
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "nodes[0].offset_seconds"

    # 23:00 Beijing time is inside the quiet hours: the call becomes an SMS.
    api.clock.set(api.clock.now().replace(hour=15))  # 15:00Z = 23:00 +08:00
    case_id = await dispatched_case(api)
    api.clock.advance(timedelta(minutes=5))
    assert await fire(api) == [("accept.call", None)]
    channels = (await api.session.execute(select(OutboxMessage.channel).where(
        OutboxMessage.case_id == case_id))).scalars().all()
    assert channels == ["sms"]
