"""Every endpoint × every kind of person (and nobody): who is let in, who is kept out.

The endpoints come from the app's own OpenAPI schema; an endpoint without an entry here fails the
test, so a new endpoint cannot ship without saying who may call it. "Let in" means anything but
401/403/404 (a 409 or 422 for a valid request in the wrong state still got past the checks);
"kept out" means 403, or 404 where the thing is outside the person's sight. Every request carries a
valid body, so a refusal is the role check's and not the body validation's.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from services.core.demo import DEMO_PASSWORD
from services.core.org.models import Grid
from services.core.outbox.models import OutboxMessage
from tests.helpers import Api, event
from tests.integration.test_active_cases import JPEG

PEOPLE = ("admin", "supervisor", "bizsup", "commander", "operator1", "operator2", "c1_director", "c2_director",
          "c1_grid1")
ALL = frozenset(PEOPLE)
ORG_ADMINS = frozenset({"admin", "supervisor"})
STREET = frozenset({"supervisor", "bizsup", "operator1"})  # steer BJZL-01's cases
COMMUNITY = frozenset({"c1_director"})  # work BJZL-01's cases
SEE_CASE = frozenset({"admin", "supervisor", "bizsup", "commander", "operator1", "c1_director"})
SEE_C1 = SEE_CASE | {"c1_grid1"}  # BJZL-01's active cases, records, compliance
C1_WRITERS = frozenset({"c1_director", "c1_grid1"})
ASSESSORS = frozenset({"supervisor", "bizsup"})
PUBLISHERS = frozenset({"supervisor"})
STAFF_READ = frozenset({"admin", "supervisor", "bizsup"})
PUBLIC = "public"  # no token needed; everyone, and nobody, gets in
SIGNED = "signed"  # the district's signature, not a person's token: 401 without it, token or not
SEQ = itertools.count()


@dataclass
class Ctx:
    case: int
    active: int
    photo: int
    record: int
    problem: int
    outbox: int
    c1: int
    grid: int
    person: int
    operator: int
    category: int


Call = Callable[[Ctx], tuple[str, str, dict[str, Any]]]  # method, path, httpx keyword arguments


def j(method: str, path: str, body: Any = None, **params: Any) -> Call:
    def call(x: Ctx) -> tuple[str, str, dict[str, Any]]:
        payload = body(x) if callable(body) else body
        kw: dict[str, Any] = {}
        if payload is not None:
            kw["json"] = payload
        if params:
            kw["params"] = {k: (v(x) if callable(v) else v) for k, v in params.items()}
        return method, path.format(**vars(x)), kw
    return call


def move(action: str, body: dict[str, Any] | None = None) -> Call:
    return j("POST", "/api/v1/cases/{case}/" + action, body or {})


def report_call(x: Ctx) -> tuple[str, str, dict[str, Any]]:
    return "POST", "/api/v1/active-cases", {"data": {"category_code": "C0101", "description": "井盖破损"},
                                            "files": [("photos_before", ("a.jpg", JPEG, "image/jpeg"))]}


def attach_call(x: Ctx) -> tuple[str, str, dict[str, Any]]:
    return "POST", f"/api/v1/records/{x.record}/attachments", {"files": [("files", ("a.jpg", JPEG, "image/jpeg"))]}


def login_call(x: Ctx) -> tuple[str, str, dict[str, Any]]:
    return "POST", "/api/v1/auth/token", {"data": {"username": "commander", "password": DEMO_PASSWORD}}


RECORD = {"kind": "patrol", "occurred_on": "2026-11-02", "title": "巡查", "details": {"members": ["张三"]}}
EXT = {"requested_deadline_at": "2026-12-20T18:00:00+08:00", "note": "需要协调"}

MATRIX: dict[tuple[str, str], tuple[frozenset[str] | str, Call]] = {
    ("POST", "/api/v1/district/events"): (SIGNED, j("POST", "/api/v1/district/events", {"event_id": "x"})),
    ("POST", "/api/v1/auth/token"): (PUBLIC, login_call),
    ("GET", "/healthz"): (PUBLIC, j("GET", "/healthz")),
    ("GET", "/readyz"): (PUBLIC, j("GET", "/readyz")),
    ("GET", "/metrics"): (PUBLIC, j("GET", "/metrics")),
    ("GET", "/api/v1/me"): (ALL, j("GET", "/api/v1/me")),
    ("GET", "/api/v1/audit-log"): (frozenset({"admin", "supervisor", "bizsup"}), j("GET", "/api/v1/audit-log")),
    ("GET", "/api/v1/street"): (ALL, j("GET", "/api/v1/street")),
    ("PUT", "/api/v1/street"): (ORG_ADMINS, j("PUT", "/api/v1/street", {"code": "BJZL", "name": "北京中路街道"})),
    ("GET", "/api/v1/communities"): (ALL, j("GET", "/api/v1/communities")),
    ("POST", "/api/v1/communities"): (ORG_ADMINS, j("POST", "/api/v1/communities",
                                                    lambda x: {"code": f"T-{next(SEQ)}", "name": "测试社区"})),
    ("PATCH", "/api/v1/communities/{community_id}"): (ORG_ADMINS, j("PATCH", "/api/v1/communities/{c1}",
                                                                    {"name": "宝湖社区"})),
    ("GET", "/api/v1/grids"): (ALL, j("GET", "/api/v1/grids")),
    ("POST", "/api/v1/grids"): (ORG_ADMINS, j("POST", "/api/v1/grids", lambda x: {
        "community_id": x.c1, "code": f"G-{next(SEQ)}", "name": "测试网格"})),
    ("PATCH", "/api/v1/grids/{grid_id}"): (ORG_ADMINS, j("PATCH", "/api/v1/grids/{grid}", {"name": "宝湖一网格"})),
    ("GET", "/api/v1/people"): (ALL, j("GET", "/api/v1/people")),
    ("POST", "/api/v1/people"): (ORG_ADMINS, j("POST", "/api/v1/people", lambda x: {
        "username": f"u{next(SEQ)}", "name": "新人", "password": "a-long-password-1"})),
    ("PATCH", "/api/v1/people/{person_id}"): (ORG_ADMINS, j("PATCH", "/api/v1/people/{person}",
                                                            {"name": "宝湖网格员二"})),
    ("PUT", "/api/v1/people/{person_id}/roles"): (ORG_ADMINS, j("PUT", "/api/v1/people/{person}/roles", lambda x: {
        "roles": [{"role": "grid_worker", "community_id": x.c1}]})),
    ("POST", "/api/v1/people/{person_id}/unlock"): (ORG_ADMINS, j("POST", "/api/v1/people/{person}/unlock")),
    ("PUT", "/api/v1/operators/{operator_id}/communities"): (ORG_ADMINS, j(
        "PUT", "/api/v1/operators/{operator}/communities", lambda x: {"community_ids": [x.c1]})),
    ("GET", "/api/v1/categories"): (ALL, j("GET", "/api/v1/categories")),
    ("POST", "/api/v1/categories"): (ORG_ADMINS, j("POST", "/api/v1/categories", lambda x: {
        "code": f"Z{next(SEQ):04d}", "name": "测试类别", "kind": "event"})),
    ("PATCH", "/api/v1/categories/{category_id}"): (ORG_ADMINS, j("PATCH", "/api/v1/categories/{category}",
                                                                  {"name": "上水井盖"})),
    ("GET", "/api/v1/cases"): (ALL, j("GET", "/api/v1/cases")),
    ("GET", "/api/v1/cases/{case_id}"): (SEE_CASE, j("GET", "/api/v1/cases/{case}")),
    ("GET", "/api/v1/cases/{case_id}/events"): (SEE_CASE, j("GET", "/api/v1/cases/{case}/events")),
    ("POST", "/api/v1/cases/{case_id}/notes"): (STREET | COMMUNITY, j("POST", "/api/v1/cases/{case}/notes",
                                                                      {"note": "进展"})),
    ("POST", "/api/v1/cases/{case_id}/dispatch"): (STREET, move("dispatch", {"community_id": 1})),
    ("POST", "/api/v1/cases/{case_id}/accept"): (COMMUNITY, move("accept")),
    ("POST", "/api/v1/cases/{case_id}/start"): (COMMUNITY, move("start")),
    ("POST", "/api/v1/cases/{case_id}/request-extension"): (COMMUNITY, move("request-extension", EXT)),
    ("POST", "/api/v1/cases/{case_id}/grant-extension"): (STREET, move("grant-extension")),
    ("POST", "/api/v1/cases/{case_id}/deny-extension"): (STREET, move("deny-extension")),
    ("POST", "/api/v1/cases/{case_id}/return"): (COMMUNITY, move("return", {"note": "非本社区"})),
    ("POST", "/api/v1/cases/{case_id}/redispatch"): (STREET, move("redispatch", {"community_id": 1})),
    ("POST", "/api/v1/cases/{case_id}/handle"): (COMMUNITY, move("handle", {"note": "已处置"})),
    ("POST", "/api/v1/cases/{case_id}/reply"): (STREET, move("reply", {"reply_text": "已办结"})),
    ("POST", "/api/v1/cases/{case_id}/close"): (STREET, move("close")),
    ("POST", "/api/v1/cases/{case_id}/reopen"): (STREET, move("reopen", {"note": "回访不满意"})),
    ("GET", "/api/v1/ledger"): (ALL, j("GET", "/api/v1/ledger")),
    ("GET", "/api/v1/ledger.xlsx"): (ALL, j("GET", "/api/v1/ledger.xlsx")),
    ("GET", "/api/v1/cases/{case_id}/reminders"): (SEE_CASE, j("GET", "/api/v1/cases/{case}/reminders")),
    ("POST", "/api/v1/cases/{case_id}/reminders"): (STREET, j("POST", "/api/v1/cases/{case}/reminders",
                                                              {"called_name": "宝湖主任", "outcome": "answered"})),
    ("GET", "/api/v1/cases/{case_id}/timers"): (SEE_CASE, j("GET", "/api/v1/cases/{case}/timers")),
    ("GET", "/api/v1/tasks"): (ALL, j("GET", "/api/v1/tasks")),
    ("GET", "/api/v1/cases/{case_id}/notifications"): (SEE_CASE, j("GET", "/api/v1/cases/{case}/notifications")),
    ("POST", "/api/v1/notifications/{outbox_id}/retry"): (STREET, j("POST", "/api/v1/notifications/{outbox}/retry")),
    ("GET", "/api/v1/policies"): (ALL, j("GET", "/api/v1/policies")),
    ("GET", "/api/v1/policies/{kind}/versions"): (ALL, j("GET", "/api/v1/policies/acceptance/versions")),
    ("PUT", "/api/v1/policies/{kind}"): (ORG_ADMINS, j("PUT", "/api/v1/policies/acceptance", {"nodes": [
        {"key": "accept.one", "label": "接单提醒", "channels": ["wecom_robot"], "recipients": ["community_handler"],
         "offset_seconds": 600}]})),
    ("POST", "/api/v1/active-cases"): (frozenset({"c1_grid1"}), report_call),
    ("GET", "/api/v1/active-cases"): (ALL, j("GET", "/api/v1/active-cases")),
    ("GET", "/api/v1/active-cases/{case_id}"): (SEE_C1, j("GET", "/api/v1/active-cases/{active}")),
    ("POST", "/api/v1/active-cases/{case_id}/audit"): (STREET, j("POST", "/api/v1/active-cases/{active}/audit",
                                                                 {"result": "valid"})),
    ("POST", "/api/v1/active-cases/{case_id}/handle"): (STREET | C1_WRITERS,
                                                        j("POST", "/api/v1/active-cases/{active}/handle")),
    ("GET", "/api/v1/attachments/{attachment_id}"): (SEE_C1, j("GET", "/api/v1/attachments/{photo}")),
    ("GET", "/api/v1/stats/daily"): (ALL, j("GET", "/api/v1/stats/daily", date="2026-12-04")),
    ("GET", "/api/v1/stats/daily.xlsx"): (ALL, j("GET", "/api/v1/stats/daily.xlsx", date="2026-12-04")),
    ("GET", "/api/v1/stats/monthly"): (ALL, j("GET", "/api/v1/stats/monthly", month="2026-12")),
    ("GET", "/api/v1/stats/monthly.xlsx"): (ALL, j("GET", "/api/v1/stats/monthly.xlsx", month="2026-12")),
    ("PUT", "/api/v1/assessments/pay/{month}"): (ASSESSORS, j("PUT", "/api/v1/assessments/pay/2026-12", lambda x: {
        "rows": [{"person_id": x.person, "paid_fen": 100}]})),
    ("POST", "/api/v1/assessments/{quarter}/conduct"): (ASSESSORS, j(
        "POST", "/api/v1/assessments/2026-Q4/conduct", lambda x: {"person_id": x.person, "reason": "迟到"})),
    ("PUT", "/api/v1/assessments/{quarter}/fund"): (PUBLISHERS, j("PUT", "/api/v1/assessments/2026-Q4/fund",
                                                                  {"fund_fen": 100})),
    ("POST", "/api/v1/assessments/{quarter}/compute"): (ASSESSORS, j("POST", "/api/v1/assessments/2026-Q4/compute")),
    ("POST", "/api/v1/assessments/{quarter}/publish"): (PUBLISHERS, j("POST", "/api/v1/assessments/2026-Q4/publish")),
    ("POST", "/api/v1/assessments/{quarter}/reopen"): (PUBLISHERS, j("POST", "/api/v1/assessments/2026-Q4/reopen",
                                                                     {"reason": "更正"})),
    ("GET", "/api/v1/assessments/{quarter}"): (STAFF_READ, j("GET", "/api/v1/assessments/2026-Q4")),
    ("GET", "/api/v1/assessments/{quarter}/notice.xlsx"): (STAFF_READ, j("GET",
                                                                         "/api/v1/assessments/2026-Q4/notice.xlsx")),
    ("POST", "/api/v1/records"): (C1_WRITERS, j("POST", "/api/v1/records", lambda x: {**RECORD, "community_id": x.c1})),
    ("GET", "/api/v1/records"): (ALL, j("GET", "/api/v1/records")),
    ("GET", "/api/v1/records.xlsx"): (ALL, j("GET", "/api/v1/records.xlsx", kind="patrol")),
    ("GET", "/api/v1/records/{record_id}"): (SEE_C1, j("GET", "/api/v1/records/{record}")),
    ("PATCH", "/api/v1/records/{record_id}"): (C1_WRITERS, j("PATCH", "/api/v1/records/{record}", {"title": "巡查"})),
    ("GET", "/api/v1/records/{record_id}/revisions"): (SEE_C1, j("GET", "/api/v1/records/{record}/revisions")),
    ("POST", "/api/v1/records/{record_id}/attachments"): (C1_WRITERS, attach_call),
    ("POST", "/api/v1/inspections"): (STREET, j("POST", "/api/v1/inspections", lambda x: {
        "community_id": x.c1, "inspected_on": "2026-11-10", "summary": "督查"})),
    ("GET", "/api/v1/inspections"): (ALL, j("GET", "/api/v1/inspections")),
    ("POST", "/api/v1/inspection-problems/{problem_id}/follow-up"): (STREET | C1_WRITERS, j(
        "POST", "/api/v1/inspection-problems/{problem}/follow-up", {"note": "进展"})),
    ("GET", "/api/v1/compliance"): (SEE_C1, j("GET", "/api/v1/compliance", community_id=lambda x: x.c1,
                                              quarter="2026-Q4")),
    ("GET", "/api/v1/compliance/dossier.xlsx"): (SEE_C1, j("GET", "/api/v1/compliance/dossier.xlsx",
                                                           community_id=lambda x: x.c1, quarter="2026-Q4")),
}


def endpoints(api: Api) -> set[tuple[str, str]]:
    from fastapi import FastAPI

    app: FastAPI = api.client._transport.app  # type: ignore[attr-defined]
    found = {(m.upper(), p) for p, ops in app.openapi()["paths"].items() for m in ops}
    return found | {("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics")}


async def setup(api: Api) -> Ctx:
    case = (await api.send_event(event(community_code="BJZL-01"))).json()["case_id"]
    headers = await api.headers("c1_grid1")
    active = (await api.client.post("/api/v1/active-cases", headers=headers, data={
        "category_code": "C0102", "description": "路灯不亮"},
        files=[("photos_before", ("a.jpg", JPEG, "image/jpeg"))])).json()
    record = (await api.post("/api/v1/records", "c1_director", RECORD)).json()["id"]
    c1 = await api.community_id("BJZL-01")
    owner = await api.person_id("c1_grid1")
    inspection = (await api.post("/api/v1/inspections", "operator1", {
        "community_id": c1, "inspected_on": "2026-11-10", "summary": "督查", "problems": [
            {"category_code": "C0101", "description": "井盖", "owner_id": owner, "deadline_on": "2026-11-20"}]})).json()
    now = api.clock.now()
    message = OutboxMessage(idem_key=f"matrix:{case}", channel="sms", recipient={"person_id": owner},
                            message={"text": "x"}, case_id=case, state="dead", attempts=3, next_attempt_at=now,
                            created_at=now)
    api.session.add(message)
    await api.session.commit()
    assert (await api.post("/api/v1/assessments/2026-Q4/compute", "supervisor")).status_code == 200
    grid = (await api.session.execute(select(Grid.id).where(Grid.grid_worker_id == owner))).scalar_one()
    categories = (await api.get("/api/v1/categories", "admin")).json()
    return Ctx(case=case, active=active["id"], photo=active["photos"][0]["id"], record=record,
               problem=inspection["problems"][0]["id"], outbox=message.id, c1=c1, grid=grid,
               person=await api.person_id("c1_grid2"), operator=await api.person_id("operator1"),
               category=next(c["id"] for c in categories if c["code"] == "C0101"))


async def send(api: Api, who: str | None, call: tuple[str, str, dict[str, Any]]) -> int:
    method, path, kw = call
    headers = await api.headers(who) if who else {}
    r = await api.client.request(method, path, headers=headers, **kw)
    return r.status_code


async def test_every_endpoint_has_an_entry(api: Api) -> None:
    missing = endpoints(api) - set(MATRIX)
    assert not missing, f"say who may call these: {sorted(missing)}"
    assert not set(MATRIX) - endpoints(api), "entries for endpoints that are gone"


async def test_who_gets_in_and_who_is_kept_out(api: Api) -> None:
    x = await setup(api)
    wrong: list[str] = []
    for (method, path), (allowed, call) in MATRIX.items():
        anonymous = await send(api, None, call(x))
        if allowed == PUBLIC:
            if anonymous >= 400:
                wrong.append(f"{method} {path}: public but nobody got {anonymous}")
            continue
        if anonymous != 401:
            wrong.append(f"{method} {path}: nobody got {anonymous}, not 401")
        for who in PEOPLE:
            status = await send(api, who, call(x))
            if allowed == SIGNED:
                ok = status == 401
            elif who in allowed:
                ok = status not in (401, 403, 404)
            else:
                ok = status in (403, 404)
            if not ok:
                wrong.append(f"{method} {path} as {who}: {status} ({'let in' if who in allowed else 'kept out'} "
                             "expected)")
    assert not wrong, "\n".join(wrong)

