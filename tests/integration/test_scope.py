"""Who sees what: two communities, operators, leaders, grid workers. Outside scope is 404."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from services.core.cases.rules import CaseStatus
from tests.helpers import Api


async def test_scope_between_two_communities(api: Api) -> None:
    c1 = await api.make_case(CaseStatus.dispatched, community_code="BJZL-01")
    c3 = await api.make_case(CaseStatus.dispatched, community_code="BJZL-03")
    queue = await api.make_case(CaseStatus.received, community_code=None)

    async def visible(user: str) -> set[int]:
        r = await api.get("/api/v1/ledger", user)
        assert r.status_code == 200
        return {i["case_id"] for i in r.json()["items"]}

    assert await visible("c1_handler") == {c1.id}
    assert await visible("c3_director") == {c3.id}
    assert await visible("operator1") == {c1.id, queue.id}  # linked to BJZL-01/02, plus the dispatch queue
    assert await visible("operator2") == {c3.id, queue.id}
    assert await visible("leader") == {c1.id, c3.id, queue.id}
    assert await visible("c1_grid1") == set()

    for user, case_id in [("c1_handler", c3.id), ("c3_handler", c1.id), ("operator2", c1.id),
                          ("c1_handler", queue.id), ("c1_grid1", c1.id)]:
        r = await api.get(f"/api/v1/cases/{case_id}", user)
        assert r.status_code == 404 and r.json()["error"]["code"] == "case_not_found"
        r = await api.get(f"/api/v1/cases/{case_id}/events", user)
        assert r.status_code == 404
        r = await api.move(case_id, "accept", user)
        assert r.status_code == 404  # a move outside scope does not reveal the case either

    r = await api.get("/api/v1/ledger", "c1_handler", params={"community_id": await api.community_id("BJZL-03")})
    assert r.status_code == 404 and r.json()["error"]["code"] == "community_not_found"

    xlsx = await api.get("/api/v1/ledger.xlsx", "c3_handler")
    rows = list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True))
    assert [row[0] for row in rows[1:]] == [c3.id]


async def test_responsible_person_sees_their_case(api: Api) -> None:
    grid_worker = await api.person_id("c1_grid1")
    case = await api.make_case(CaseStatus.accepted, responsible_person_id=grid_worker)
    assert (await api.get(f"/api/v1/cases/{case.id}", "c1_grid1")).status_code == 200


async def test_requests_without_valid_token_are_401(api: Api) -> None:
    r = await api.client.get("/api/v1/ledger")
    assert r.status_code == 401 and r.json()["error"]["code"] == "not_authenticated"
    assert r.headers["www-authenticate"] == "Bearer"
    r = await api.client.get("/api/v1/ledger", headers={"Authorization": "Bearer nonsense"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_token"


async def test_ledger_workbook_survives_control_characters_and_formulas(api: Api) -> None:
    case = await api.make_case(CaseStatus.in_progress, title='=HYPERLINK("http://evil.invalid","点我")',
                               progress_note="进展\u0007完成")
    r = await api.get("/api/v1/ledger.xlsx", "supervisor")
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.content)).active
    row = next(row for row in ws.iter_rows() if row[0].value == case.id)
    assert row[3].data_type == "s" and row[3].value.startswith("=HYPERLINK")
    assert row[12].value == "进展完成"
