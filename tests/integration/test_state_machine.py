"""Every allowed and every forbidden move of the passive-case lifecycle, through the REST API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from services.core.cases.models import CaseEvent, PassiveCase
from services.core.cases.rules import MOVES, Actor, CaseAction, CaseStatus
from services.core.org.roles import Role
from tests.helpers import Api, event

API_ACTIONS = [a for a in CaseAction if a != CaseAction.recall]


def actor_for(action: CaseAction) -> str:
    """A demo user whose roles allow ``action`` on a case of community BJZL-01."""
    actors = MOVES[action].actors
    if Role.community_handler in actors:
        return "c1_handler"
    assert Role.operator in actors
    return "operator1"


async def body_for(api: Api, action: CaseAction, case: PassiveCase) -> dict[str, Any]:
    later = (api.clock.now() + timedelta(days=10)).isoformat()
    return {
        CaseAction.dispatch: {"community_id": await api.community_id("BJZL-01")},
        CaseAction.redispatch: {"community_id": await api.community_id("BJZL-02")},
        CaseAction.request_extension: {"requested_deadline_at": later, "note": "需协调供电公司"},
        CaseAction.return_case: {"note": "不属于本社区"},
        CaseAction.handle: {"note": "已更换井盖"},
        CaseAction.reply: {"reply_text": "已处置完毕，现场恢复"},
        CaseAction.reopen: {"note": "回访不满意"},
    }.get(action, {})


ALLOWED = [(a, s) for a in API_ACTIONS for s in CaseStatus if s in MOVES[a].sources]
FORBIDDEN = [(a, s) for a in API_ACTIONS for s in CaseStatus if s not in MOVES[a].sources]


@pytest.mark.parametrize(("action", "status"), ALLOWED, ids=[f"{a.value}-from-{s.value}" for a, s in ALLOWED])
async def test_allowed_move(api: Api, action: CaseAction, status: CaseStatus) -> None:
    case = await api.make_case(status)
    api.clock.advance(timedelta(minutes=1))
    r = await api.move(case.id, action.value.replace("_", "-"), actor_for(action),
                       **await body_for(api, action, case))
    assert r.status_code == 200, r.text
    out = r.json()
    move = MOVES[action]
    assert out["status"] == move.target.value
    if move.stamp:
        assert out[move.stamp] is not None
        assert out[move.stamp].startswith("2026-12-04T01:01")  # the clock's now, in UTC
    events = (await api.session.execute(select(CaseEvent).where(CaseEvent.case_id == case.id))).scalars().all()
    assert [(e.action, e.from_status, e.to_status, e.actor_kind) for e in events] == [
        (action.value, status.value, move.target.value, "person")]
    assert events[0].actor_person_id == await api.person_id(actor_for(action))


@pytest.mark.parametrize(("action", "status"), FORBIDDEN,
                         ids=[f"{a.value}-from-{s.value}" for a, s in FORBIDDEN])
async def test_forbidden_move(api: Api, action: CaseAction, status: CaseStatus) -> None:
    case = await api.make_case(status)
    user = actor_for(action)
    r = await api.move(case.id, action.value.replace("_", "-"), user, **await body_for(api, action, case))
    if status == CaseStatus.received and user == "c1_handler":
        # Not dispatched yet: the community cannot even see it.
        assert r.status_code == 404 and r.json()["error"]["code"] == "case_not_found"
    else:
        assert r.status_code == 409, r.text
        assert r.json()["error"]["code"] == "transition_not_allowed"
        assert r.json()["error"]["status"] == status.value
    after = await api.get(f"/api/v1/cases/{case.id}", "supervisor")
    assert after.json()["status"] == status.value
    n = (await api.session.execute(select(func.count()).select_from(CaseEvent)
                                   .where(CaseEvent.case_id == case.id))).scalar_one()
    assert n == 0


@pytest.mark.parametrize("status", list(CaseStatus))
async def test_recall_by_district(api: Api, status: CaseStatus) -> None:
    case = await api.make_case(status)
    r = await api.send_event(event("case.recalled", district_case_id=case.district_case_id))
    if status in MOVES[CaseAction.recall].sources:
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "recalled"
    elif status == CaseStatus.recalled:
        assert r.status_code == 200  # already recalled: nothing changes
    else:
        assert r.status_code == 409
        assert r.json()["error"]["code"] == "transition_not_allowed"


def test_every_status_is_reachable_and_recall_is_district_only() -> None:
    targets = {m.target for m in MOVES.values()}
    assert targets | {CaseStatus.received} == set(CaseStatus)
    assert MOVES[CaseAction.recall].actors == {Actor.district}


@pytest.mark.parametrize(("action", "status", "user"), [
    (CaseAction.redispatch, CaseStatus.returned, "c1_handler"),
    (CaseAction.accept, CaseStatus.dispatched, "operator1"),
    (CaseAction.handle, CaseStatus.in_progress, "operator1"),
    (CaseAction.close, CaseStatus.replied, "c1_director"),
    (CaseAction.grant_extension, CaseStatus.extension_requested, "c1_handler"),
    (CaseAction.accept, CaseStatus.dispatched, "commander"),
    (CaseAction.accept, CaseStatus.dispatched, "c1_secretary"),
])
async def test_move_by_wrong_role_is_403_and_changes_nothing(api: Api, action: CaseAction,
                                                              status: CaseStatus, user: str) -> None:
    case = await api.make_case(status)
    r = await api.move(case.id, action.value.replace("_", "-"), user, **await body_for(api, action, case))
    assert r.status_code == 403, r.text
    assert r.json()["error"]["code"] == "role_not_allowed"
    assert (await api.get(f"/api/v1/cases/{case.id}", "supervisor")).json()["status"] == status.value


async def test_move_needs_its_fields(api: Api) -> None:
    case = await api.make_case(CaseStatus.in_progress)
    r = await api.move(case.id, "handle", "c1_handler")
    assert r.status_code == 422
    assert r.json()["error"]["fields"] == [{"field": "note", "message": "is required to handle a case"}]
    r = await api.move(case.id, "request-extension", "c1_handler", note="x",
                       requested_deadline_at=(api.clock.now() - timedelta(days=1)).isoformat())
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "requested_deadline_at"
    r = await api.move(case.id, "handle", "c1_handler", note="ok", bogus=1)
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "bogus"
    assert (await api.get(f"/api/v1/cases/{case.id}", "supervisor")).json()["status"] == "in_progress"


async def test_operator_may_dispatch_only_to_linked_communities(api: Api) -> None:
    case = await api.make_case(CaseStatus.received)
    r = await api.move(case.id, "dispatch", "operator1", community_id=await api.community_id("BJZL-03"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "community_not_linked"
    r = await api.move(case.id, "dispatch", "supervisor", community_id=await api.community_id("BJZL-03"))
    assert r.status_code == 200


async def test_acceptance_timeout_is_recorded(api: Api) -> None:
    on_time = await api.make_case(CaseStatus.dispatched, dispatched_at=api.clock.now() - timedelta(minutes=10))
    late = await api.make_case(CaseStatus.dispatched,
                               dispatched_at=api.clock.now() - timedelta(minutes=10, seconds=1))
    r1 = await api.move(on_time.id, "accept", "c1_handler")
    r2 = await api.move(late.id, "accept", "c1_handler")
    assert r1.json()["acceptance_timed_out"] is False
    assert r2.json()["acceptance_timed_out"] is True
    assert r2.json()["responsible_person_id"] == await api.person_id("c1_handler")


async def test_extension_moves_the_deadline(api: Api) -> None:
    case = await api.make_case(CaseStatus.in_progress)
    wanted = api.clock.now() + timedelta(days=7)
    await api.move(case.id, "request-extension", "c1_handler", requested_deadline_at=wanted.isoformat(),
                   note="需要施工")
    r = await api.move(case.id, "grant-extension", "operator1")
    assert r.status_code == 200
    assert r.json()["extension_count"] == 1
    assert r.json()["deadline_at"].startswith(wanted.astimezone().isoformat()[:10])


async def test_allowed_actions_follow_role_and_status(api: Api) -> None:
    case = await api.make_case(CaseStatus.dispatched)
    handler = (await api.get(f"/api/v1/cases/{case.id}", "c1_handler")).json()
    operator = (await api.get(f"/api/v1/cases/{case.id}", "operator1")).json()
    assert handler["allowed_actions"] == ["accept", "return"]
    assert operator["allowed_actions"] == []
