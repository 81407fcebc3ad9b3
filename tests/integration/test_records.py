"""Records and materials (资料完善): registers in scope with an audit trail, inspections and their
rectification, the computed compliance, and the materials score reaching the community ranking."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from openpyxl import load_workbook

from services.core.records.rules import weeks_in
from tests.helpers import Api
from tests.integration.test_active_cases import JPEG, grid_of

PDF = b"%PDF-1.4\n" + b"1 0 obj << >> endobj\n" * 20
Q = "2026-Q4"


async def record(api: Api, as_: str = "c1_director", **body: Any) -> Any:
    payload = {"kind": "patrol", "occurred_on": "2026-11-02", "title": "宝湖路巡查",
               "details": {"members": ["物业保安张三", "志愿者李四"]}, **body}
    return await api.post("/api/v1/records", as_, payload)


async def test_registers_in_scope_with_history_and_attachments(api: Api) -> None:
    r = await record(api)
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    bad = await record(api, details={})
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "details.members"
    minutes = await record(api, kind="joint_meeting", details={"attendees": ["主任", "网格员"]})
    assert minutes.status_code == 422 and minutes.json()["error"]["fields"][0]["field"] == "body"
    future = await record(api, occurred_on="2027-01-01")
    assert future.status_code == 422
    c1 = await api.community_id("BJZL-01")
    assert (await record(api, "c2_director", community_id=c1)).status_code == 403
    assert (await api.get(f"/api/v1/records/{rid}", "operator1")).status_code == 200
    assert (await api.get(f"/api/v1/records/{rid}", "operator2")).status_code == 404
    assert (await api.get(f"/api/v1/records/{rid}", "c2_director")).status_code == 404
    assert rid in {x["id"] for x in (await api.get("/api/v1/records", "supervisor")).json()["items"]}

    patched = await api.client.patch(f"/api/v1/records/{rid}", json={"title": "宝湖路夜间巡查"},
                                     headers=await api.headers("c1_vice"))
    assert patched.status_code == 200 and patched.json()["title"] == "宝湖路夜间巡查"
    assert (await api.client.patch(f"/api/v1/records/{rid}", json={"title": "x"},
                                   headers=await api.headers("operator1"))).status_code == 403
    history = (await api.get(f"/api/v1/records/{rid}/revisions", "operator1")).json()
    assert [h["action"] for h in history] == ["create", "update"]
    assert history[1]["before"]["title"] == "宝湖路巡查" and history[1]["after"]["title"] == "宝湖路夜间巡查"

    files = [("files", ("纪要.pdf", PDF, "application/pdf")), ("files", ("现场.jpg", JPEG, "image/jpeg"))]
    up = await api.client.post(f"/api/v1/records/{rid}/attachments", files=files,
                               headers=await api.headers("c1_director"))
    assert up.status_code == 200 and [a["content_type"] for a in up.json()["attachments"]] == [
        "application/pdf", "image/jpeg"]
    doc = up.json()["attachments"][0]["id"]
    assert (await api.get(f"/api/v1/attachments/{doc}", "operator1")).content == PDF
    assert (await api.get(f"/api/v1/attachments/{doc}", "c2_director")).status_code == 404
    exe = await api.client.post(f"/api/v1/records/{rid}/attachments", files=[("files", ("a.pdf", b"MZ\x90", "x"))],
                                headers=await api.headers("c1_director"))
    assert exe.status_code == 422 and exe.json()["error"]["code"] == "unsupported_file_type"


async def inspect(api: Api, as_: str = "operator1", **body: Any) -> Any:
    c1 = await api.community_id("BJZL-01")
    grid = await grid_of(api, "c1_grid1")
    owner = await api.person_id("c1_grid1")
    problems = [{"grid_id": grid, "category_code": code, "description": f"问题 {code}", "owner_id": owner,
                 "deadline_on": "2026-11-20"} for code in ("C0101", "C0102", "C0103")]
    payload = {"community_id": c1, "inspected_on": "2026-11-10", "summary": "宝湖社区督查", "problems": problems,
               **body}
    return await api.post("/api/v1/inspections", as_, payload)


async def test_inspections_and_rectification(api: Api) -> None:
    assert (await inspect(api, "operator2")).status_code == 403  # not linked to BJZL-01
    r = await inspect(api)
    assert r.status_code == 201, r.text
    problems = r.json()["problems"]
    assert len(problems) == 3 and all(p["closed_at"] is None for p in problems)
    c2 = await api.community_id("BJZL-02")
    mutual = await inspect(api, "c2_director", kind="mutual", inspecting_community_id=c2, problems=[],
                           tasks=["查看巡查台账", "抽查网格"])
    assert mutual.status_code == 201 and mutual.json()["kind"] == "mutual"
    assert (await inspect(api, "c1_director", kind="mutual", inspecting_community_id=c2)).status_code == 403
    late = await inspect(api, problems=[{"category_code": "C0101", "description": "x",
                                         "owner_id": await api.person_id("c1_grid1"), "deadline_on": "2026-11-01"}])
    assert late.status_code == 422 and late.json()["error"]["fields"][0]["field"] == "problems[0].deadline_on"

    pid = problems[0]["id"]
    note = await api.post(f"/api/v1/inspection-problems/{pid}/follow-up", "c1_grid1", {"note": "已更换井盖"})
    assert note.status_code == 200 and note.json()["follow_up"][0]["note"] == "已更换井盖"
    shut = await api.post(f"/api/v1/inspection-problems/{pid}/follow-up", "c1_director",
                          {"note": "已整改", "close": True})
    assert shut.status_code == 403  # the inspected side does not close its own problem
    done = await api.post(f"/api/v1/inspection-problems/{pid}/follow-up", "operator1",
                          {"note": "复查通过", "close": True})
    assert done.status_code == 200 and done.json()["closed_at"] is not None
    assert (await api.post(f"/api/v1/inspection-problems/{pid}/follow-up", "operator1",
                           {"note": "x"})).status_code == 409
    listed = (await api.get("/api/v1/inspections", "c2_director")).json()
    assert {i["kind"] for i in listed} == {"mutual"}  # the one it made, not BJZL-01's 督查


async def test_compliance_and_the_materials_score_in_the_ranking(api: Api) -> None:
    c1 = await api.community_id("BJZL-01")
    today = api.clock.now().date()
    for _monday, sunday in weeks_in(date(2026, 10, 1), date(2027, 1, 1), today):
        assert (await record(api, occurred_on=sunday.isoformat())).status_code == 201
    for month in ("2026-10", "2026-11"):
        for kind, details, body in (("joint_meeting", {"attendees": ["主任"]}, "纪要"),
                                    ("enforcement_evaluation", {"forces": ["城管"], "rating": "好"}, None),
                                    ("summary", {"period_type": "month"}, "月度总结")):
            day = "25" if kind == "joint_meeting" else "28"
            assert (await record(api, kind=kind, occurred_on=f"{month}-{day}", details=details,
                                 body=body)).status_code == 201
    full = (await api.get("/api/v1/compliance", "operator1", params={"community_id": c1, "quarter": Q})).json()
    assert full["materials_score"] == "10.00", full
    assert (await api.get("/api/v1/compliance", "operator2",
                          params={"community_id": c1, "quarter": Q})).status_code == 404

    await inspect(api)  # three categories in c1_grid1's grid, deadline 11-20, still open: overdue today
    partial = (await api.get("/api/v1/compliance", "operator1", params={"community_id": c1, "quarter": Q})).json()
    rect = next(c for c in partial["checks"] if c["name"] == "rectifications")
    # three past due: ¾ of the 15% part lost → 10 × (100 − 11.25) / 100 = 8.875
    assert len(rect["missing"]) == 3 and partial["materials_score"] == "8.88"

    draft = (await api.post(f"/api/v1/assessments/{Q}/compute", "supervisor")).json()["result"]
    community = next(c for c in draft["communities"] if c["community_id"] == c1)
    assert community["materials_score"] == "8.88"
    g1 = next(w for w in draft["grid_workers"] if w["name"] == "宝湖网格员一")
    assert g1["deductions"] == "2"  # one 督查 found 3 categories in the grid

    r = await api.get("/api/v1/compliance/dossier.xlsx", "operator1", params={"community_id": c1, "quarter": Q})
    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames[0] == "资料完成情况" and "巡查记录" in wb.sheetnames and "督查与整改" in wb.sheetnames
    assert wb["巡查记录"].max_row == 1 + len(weeks_in(date(2026, 10, 1), date(2027, 1, 1), today))
    r = await api.get("/api/v1/records.xlsx", "supervisor", params={"kind": "joint_meeting"})
    assert load_workbook(io.BytesIO(r.content)).sheetnames == ["联席会议"]


async def test_patrols_are_by_the_registered_team_and_mutual_results_go_to_all(api: Api) -> None:
    team = await record(api, kind="patrol_team", title="宝湖社区巡查队",
                        details={"members": [{"name": "物业保安张三", "type": "property_guard"},
                                             {"name": "志愿者李四", "type": "volunteer"}]})
    assert team.status_code == 201
    assert (await record(api)).status_code == 201  # both registered
    stranger = await record(api, details={"members": ["路人王五"]})
    assert stranger.status_code == 422 and "路人王五" in stranger.json()["error"]["fields"][0]["message"]

    from sqlalchemy import select

    from services.core.outbox.models import OutboxMessage

    c2 = await api.community_id("BJZL-02")
    r = await inspect(api, "c2_director", kind="mutual", inspecting_community_id=c2)
    rows = (await api.session.execute(select(OutboxMessage).where(
        OutboxMessage.idem_key.like(f"mutual_inspection:{r.json()['id']}:%")))).scalars().all()
    assert len(rows) == 3 and "互查通报" in rows[0].message["text"] and "发现问题 3 项" in rows[0].message["text"]


async def test_bad_values_are_422_naming_the_field(api: Api) -> None:
    nul = await record(api, title="巡查\x00")
    assert nul.status_code == 422 and nul.json()["error"]["fields"][0]["field"] == "title"
    bad_members = await record(api, kind="patrol_team", details={"members": 5})
    assert bad_members.status_code == 422 and bad_members.json()["error"]["fields"][0]["field"] == "details.members"
    raw = b'{"kind": "app_promotion", "occurred_on": "2026-11-02", "title": "t", "details": ' \
          b'{"registered": NaN, "coverage": 1, "participation": 1}}'
    nan = await api.client.post("/api/v1/records", content=raw, headers={
        **await api.headers("c1_director"), "Content-Type": "application/json"})
    assert nan.status_code == 422
    far = await api.get("/api/v1/stats/daily", "supervisor", params={"date": "9999-12-31"})
    assert far.status_code == 422 and far.json()["error"]["fields"][0]["field"] == "date"
    assert (await api.get("/api/v1/stats/monthly", "supervisor", params={"month": "2000-01"})).status_code == 200
    assert (await api.post("/api/v1/assessments/1999-Q1/compute", "supervisor")).status_code == 422
    owner = await api.person_id("c2_director")
    stranger = await inspect(api, problems=[{"category_code": "C0101", "description": "x", "owner_id": owner,
                                             "deadline_on": "2026-11-20"}])
    assert stranger.status_code == 422 and stranger.json()["error"]["fields"][0]["field"] == "problems[0].owner_id"
