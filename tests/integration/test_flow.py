"""The whole passive-case spine: district event → dispatch → accept → handle → reply → close → ledger."""

from __future__ import annotations

import io
from datetime import timedelta

from openpyxl import load_workbook

from services.core.cases.ledger import HEADERS
from tests.helpers import Api, event


async def test_end_to_end_flow_and_ledger(api: Api) -> None:
    created = await api.send_event(event(district_case_id="JF-2026-000001", title="宝湖路井盖缺失"))
    assert created.status_code == 201
    case_id = created.json()["case_id"]
    c1 = await api.community_id("BJZL-01")

    steps = [
        ("dispatch", "operator1", {"community_id": c1}, "dispatched"),
        ("accept", "c1_handler", {}, "accepted"),
        ("start", "c1_handler", {}, "in_progress"),
        ("handle", "c1_handler", {"note": "已更换井盖，现场恢复"}, "handled"),
        ("reply", "operator1", {"reply_text": "已处置完毕"}, "replied"),
        ("close", "operator1", {}, "closed"),
    ]
    for action, user, body, status in steps:
        api.clock.advance(timedelta(minutes=3))
        r = await api.move(case_id, action, user, **body)
        assert r.status_code == 200, (action, r.text)
        assert r.json()["status"] == status

    detail = (await api.get(f"/api/v1/cases/{case_id}", "c1_director")).json()
    assert detail["acceptance_timed_out"] is False
    assert detail["is_overdue"] is False
    assert detail["closed_at"] is not None

    events = (await api.get(f"/api/v1/cases/{case_id}/events", "operator1")).json()
    assert [e["action"] for e in events] == ["receive", "dispatch", "accept", "start", "handle", "reply",
                                             "close"]
    assert all(e["occurred_at"] for e in events)

    ledger = (await api.get("/api/v1/ledger", "operator1", params={"community_id": c1})).json()
    assert ledger["total"] == 1
    line = ledger["items"][0]
    assert line["case_id"] == case_id and line["is_closed"] is True
    assert line["community_name"] == "宝湖社区" and line["responsible_person_name"] == "宝湖接单员"
    assert line["category_name"] == "上水井盖" and line["progress_note"] == "已更换井盖，现场恢复"
    assert line["accepted_at"] is not None and line["extension_requested"] is False

    r = await api.get("/api/v1/ledger.xlsx", "operator1", params={"community_id": c1})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(r.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert list(rows[0]) == HEADERS
    assert rows[1][1] == "JF-2026-000001" and rows[1][4] == "宝湖社区"
    assert rows[1][7] == "2026-12-06 18:00"  # the deadline, in Beijing time
    assert rows[1][13] == "已结案" and rows[1][15] == "是"


async def test_ledger_filters_sorting_paging(api: Api) -> None:
    from services.core.cases.rules import CaseStatus

    now = api.clock.now()
    late = await api.make_case(CaseStatus.in_progress, deadline_at=now - timedelta(hours=1),
                               received_at=now - timedelta(days=3))
    closed = await api.make_case(CaseStatus.closed, received_at=now - timedelta(days=2))
    handled_late = await api.make_case(CaseStatus.handled, deadline_at=now - timedelta(hours=2),
                                       handled_at=now - timedelta(hours=1), received_at=now - timedelta(days=1))
    other = await api.make_case(CaseStatus.dispatched, community_code="BJZL-02", category_code="E0101")

    async def ids(**params: object) -> list[int]:
        r = await api.get("/api/v1/ledger", "supervisor", params=params)
        assert r.status_code == 200, r.text
        return [i["case_id"] for i in r.json()["items"]]

    assert await ids(overdue=True, sort="received_at") == [late.id, handled_late.id]
    assert await ids(closed=True) == [closed.id]
    assert set(await ids(status=["in_progress", "handled"])) == {late.id, handled_late.id}
    assert await ids(category_code="E0101") == [other.id]
    assert await ids(received_from=(now - timedelta(days=2, hours=1)).isoformat(),
                     received_to=(now - timedelta(hours=12)).isoformat(), sort="received_at") == [
        closed.id, handled_late.id]
    assert await ids(sort="-received_at", limit=2) == [other.id, handled_late.id]
    page2 = (await api.get("/api/v1/ledger", "supervisor", params={"sort": "-received_at", "limit": 2,
                                                                   "offset": 2})).json()
    assert page2["total"] == 4 and [i["case_id"] for i in page2["items"]] == [closed.id, late.id]
    bad = await api.get("/api/v1/ledger", "supervisor", params={"sort": "colour"})
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "sort"
    bad = await api.get("/api/v1/ledger", "supervisor", params={"status": "lost"})
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "status.0"


async def test_overdue_is_the_same_in_python_and_sql(api: Api) -> None:
    from services.core.cases.rules import CaseStatus

    now = api.clock.now()
    cases = [
        await api.make_case(CaseStatus.in_progress, deadline_at=now - timedelta(seconds=1)),
        await api.make_case(CaseStatus.in_progress, deadline_at=now + timedelta(seconds=1)),
        await api.make_case(CaseStatus.handled, deadline_at=now - timedelta(hours=1),
                            handled_at=now - timedelta(hours=2)),
        await api.make_case(CaseStatus.closed, deadline_at=now - timedelta(hours=3),
                            handled_at=now - timedelta(hours=2)),
        await api.make_case(CaseStatus.recalled, deadline_at=now - timedelta(days=1)),
    ]
    ledger = {i["case_id"]: i["is_overdue"] for i in
              (await api.get("/api/v1/ledger", "supervisor", params={"limit": 500})).json()["items"]}
    for case in cases:
        detail = (await api.get(f"/api/v1/cases/{case.id}", "supervisor")).json()
        assert detail["is_overdue"] == ledger[case.id], case.status
    assert [ledger[c.id] for c in cases] == [True, False, False, True, False]


async def test_progress_notes_and_return_redispatch(api: Api) -> None:
    from services.core.cases.rules import CaseStatus

    case = await api.make_case(CaseStatus.in_progress)
    r = await api.post(f"/api/v1/cases/{case.id}/notes", "c1_handler", {"note": "已联系物业，明日施工"})
    assert r.status_code == 200 and r.json()["progress_note"] == "已联系物业，明日施工"
    r = await api.post(f"/api/v1/cases/{case.id}/notes", "c1_handler", {"note": "  "})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "note"
    assert (await api.post(f"/api/v1/cases/{case.id}/notes", "c3_handler", {"note": "x"})).status_code == 404
    assert (await api.post(f"/api/v1/cases/{case.id}/notes", "c1_grid1", {"note": "x"})).status_code == 404
    closed = await api.make_case(CaseStatus.closed)
    r = await api.post(f"/api/v1/cases/{closed.id}/notes", "operator1", {"note": "补充"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "case_not_open"

    # 退回 → 重新分派 to another community: the first community no longer sees it.
    wrong = await api.make_case(CaseStatus.dispatched)
    assert (await api.move(wrong.id, "return", "c1_handler", note="不属于本社区")).json()["status"] == "returned"
    c2 = await api.community_id("BJZL-02")
    r = await api.move(wrong.id, "redispatch", "operator1", community_id=c2)
    assert r.json()["status"] == "dispatched" and r.json()["community_id"] == c2
    assert r.json()["dispatch_count"] == 2 and r.json()["return_reason"] == "不属于本社区"
    assert (await api.get(f"/api/v1/cases/{wrong.id}", "c1_handler")).status_code == 404
    assert (await api.move(wrong.id, "accept", "c2_handler")).status_code == 200
    events = (await api.get(f"/api/v1/cases/{wrong.id}/events", "operator1")).json()
    assert [(e["action"], e["from_status"], e["to_status"]) for e in events] == [
        ("return", "dispatched", "returned"), ("redispatch", "returned", "dispatched"),
        ("accept", "dispatched", "accepted")]
    both = await api.get("/api/v1/cases", "operator1")
    assert both.json() == (await api.get("/api/v1/ledger", "operator1")).json()
