"""The quarterly assessment through the API: inputs, a computed draft, publish (frozen), audited reopen,
the notice workbook; and who may do what."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from tests.helpers import Api
from tests.integration.test_stats import seed_month

Q = "2026-Q4"


async def test_compute_publish_freeze_reopen(api: Api) -> None:
    await seed_month(api)  # c1_grid1 reported a false case this quarter: a one-veto
    g1, g2 = await api.person_id("c1_grid1"), await api.person_id("c2_grid1")
    rows = [{"person_id": g1, "paid_fen": 300_000, "quality_score": "18"},
            {"person_id": g2, "paid_fen": 250_000, "quality_score": "20"}]
    assert (await api.client.put("/api/v1/assessments/pay/2026-12", json={"rows": rows},
                                 headers=await api.headers("c1_grid1"))).status_code == 403
    bad = await api.client.put("/api/v1/assessments/pay/2026-12", headers=await api.headers("supervisor"),
                               json={"rows": [{"person_id": await api.person_id("c1_director"), "paid_fen": 1}]})
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "rows[0].person_id"
    ok = await api.client.put("/api/v1/assessments/pay/2026-12", json={"rows": rows},
                              headers=await api.headers("bizsup"))
    assert ok.status_code == 200 and ok.json() == {"saved": 2}
    r = await api.post(f"/api/v1/assessments/{Q}/conduct", "supervisor", {"person_id": g2, "reason": "工作日饮酒"})
    assert r.status_code == 201

    draft = (await api.post(f"/api/v1/assessments/{Q}/compute", "supervisor")).json()
    assert draft["status"] == "draft" and draft["result"]["allocation"] is None  # no fund yet
    assert (await api.get(f"/api/v1/assessments/{Q}", "c1_grid1")).status_code == 404  # drafts are the staff's
    nofund = await api.post(f"/api/v1/assessments/{Q}/publish", "supervisor")
    assert nofund.status_code == 409 and nofund.json()["error"]["code"] == "fund_missing"

    assert (await api.client.put(f"/api/v1/assessments/{Q}/fund", json={"fund_fen": 10_000_000},
                                 headers=await api.headers("supervisor"))).status_code == 200
    computed = (await api.post(f"/api/v1/assessments/{Q}/compute", "supervisor")).json()["result"]
    workers = {w["person_id"]: w for w in computed["grid_workers"]}
    assert [v["veto"] for v in workers[g1]["vetoes"]] == ["false_case"] and workers[g1]["pay_fen"] == 0
    assert [v["veto"] for v in workers[g2]["vetoes"]] == ["conduct", "zero_reports"]  # and reported nothing
    assert workers[g1]["rank"] is None  # vetoed: not ranked, no reward
    assert sum(line["amount_fen"] for line in computed["allocation"]) == 10_000_000
    assert not any(line["recipient_id"] in (g1, g2) for line in computed["allocation"]
                   if line["group"] == "grid_worker")
    december = next(m for m in workers[g1]["months"] if m["month"] == "2026-12")
    assert december["paid_fen"] == 300_000 and december["components"][3]["points"] == "18.00"

    published = await api.post(f"/api/v1/assessments/{Q}/publish", "supervisor")
    assert published.status_code == 200 and published.json()["published_by"] == await api.person_id("supervisor")
    assert (await api.get(f"/api/v1/assessments/{Q}", "c1_grid1")).status_code == 200  # the notice is public
    frozen = await api.post(f"/api/v1/assessments/{Q}/compute", "supervisor")
    assert frozen.status_code == 409 and frozen.json()["error"]["code"] == "assessment_published"
    late = await api.client.put("/api/v1/assessments/pay/2026-11", json={"rows": rows},
                                headers=await api.headers("supervisor"))
    assert late.status_code == 409
    assert (await api.post(f"/api/v1/assessments/{Q}/conduct", "supervisor",
                           {"person_id": g1, "reason": "x"})).status_code == 409

    # a grid worker reads the notice: every rank, score and veto; only their own pay and detail
    seen = {w["person_id"]: w for w in (await api.get(f"/api/v1/assessments/{Q}", "c2_grid1")).json()["result"][
        "grid_workers"]}
    assert "pay_fen" in seen[g2] and "months" in seen[g2]
    assert "pay_fen" not in seen[g1] and "months" not in seen[g1] and seen[g1]["vetoes"] == [
        {"veto": "false_case", "label": "上报虚假案件"}]

    r = await api.get(f"/api/v1/assessments/{Q}/notice.xlsx", "supervisor")
    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["网格员考核", "月度明细", "社区排名", "奖励分配"]
    assert wb["奖励分配"].cell(row=wb["奖励分配"].max_row, column=5).value == "100,000.00"

    assert (await api.post(f"/api/v1/assessments/{Q}/reopen", "bizsup", {"reason": "x"})).status_code == 403
    assert (await api.post(f"/api/v1/assessments/{Q}/reopen", "supervisor", {"reason": ""})).status_code == 422
    reopened = (await api.post(f"/api/v1/assessments/{Q}/reopen", "supervisor",
                               {"reason": "区里更正了 12 月绩效"})).json()
    assert reopened["status"] == "draft"
    assert [h["action"] for h in reopened["history"]] == ["compute", "inputs_changed", "fund", "compute", "publish",
                                                          "reopen"]
    assert reopened["history"][-1]["reason"] == "区里更正了 12 月绩效"
    bad_quarter = await api.post("/api/v1/assessments/2026-Q5/compute", "supervisor")
    assert bad_quarter.status_code == 422


async def test_a_draft_whose_inputs_changed_cannot_be_published(api: Api) -> None:
    await api.client.put(f"/api/v1/assessments/{Q}/fund", json={"fund_fen": 10_000_000},
                         headers=await api.headers("supervisor"))
    assert (await api.post(f"/api/v1/assessments/{Q}/compute", "supervisor")).status_code == 200
    await api.client.put(f"/api/v1/assessments/{Q}/fund", json={"fund_fen": 7_777_777},
                         headers=await api.headers("supervisor"))
    stale = await api.post(f"/api/v1/assessments/{Q}/publish", "supervisor")
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "assessment_stale"
    fresh = (await api.post(f"/api/v1/assessments/{Q}/compute", "supervisor")).json()
    assert sum(line["amount_fen"] for line in fresh["result"]["allocation"]) == 7_777_777
    assert (await api.post(f"/api/v1/assessments/{Q}/publish", "supervisor")).status_code == 200
    g1 = await api.person_id("c1_grid1")
    twice = await api.client.put("/api/v1/assessments/pay/2027-01", headers=await api.headers("supervisor"),
                                 json={"rows": [{"person_id": g1, "paid_fen": 1}, {"person_id": g1, "paid_fen": 2}]})
    assert twice.status_code == 422 and twice.json()["error"]["fields"][0]["field"] == "rows[1].person_id"
