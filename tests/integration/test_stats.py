"""日统计 月通报: the figures per community and grid worker add up from the cases, in SQL, in scope."""

from __future__ import annotations

import io
from datetime import timedelta

from openpyxl import load_workbook

from services.core.clock import SHANGHAI
from tests.helpers import Api
from tests.integration.test_active_cases import JPEG, PNG, report


async def seed_month(api: Api) -> dict[str, int]:
    """c1_grid1: 4 reported — 2 valid self-handled, 1 valid not, 1 false; c1_grid2: 1 invalid."""
    ids: dict[str, int] = {}
    photos = {"photos_before": [("a.jpg", JPEG)], "photos_after": [("b.png", PNG)]}
    for key in ("s1", "s2"):
        ids[key] = (await report(api, self_handled="true", photos=photos, lat=None, lng=None)).json()["id"]
    ids["plain"] = (await report(api, lat=None, lng=None, address="北京中路8号")).json()["id"]
    ids["fake"] = (await report(api, lat=None, lng=None, address="北京中路9号")).json()["id"]
    ids["other"] = (await report(api, "c1_grid2", lat=None, lng=None)).json()["id"]
    for key, result in (("s1", "valid"), ("s2", "valid"), ("plain", "valid"), ("fake", "false"),
                        ("other", "invalid")):
        r = await api.post(f"/api/v1/active-cases/{ids[key]}/audit", "operator1",
                           {"result": result, "note": "审核意见"})
        assert r.status_code == 200, r.text
    return ids


async def test_daily_and_monthly_figures(api: Api) -> None:
    await seed_month(api)
    day = api.clock.now().astimezone(SHANGHAI).date().isoformat()
    month = day[:7]
    daily = (await api.get("/api/v1/stats/daily", "supervisor", params={"date": day})).json()
    g1 = next(w for w in daily["grid_workers"] if w["name"] == "宝湖网格员一")
    assert (g1["reported"], g1["valid"], g1["self_handled_valid"], g1["false_cases"]) == (4, 3, 2, 1)
    assert g1["self_handle_rate"] == "66.67"  # 2 / 3 valid, a percentage as an exact decimal string
    c1 = next(c for c in daily["communities"] if c["code"] == "BJZL-01")
    assert (c1["reported"], c1["valid"], c1["false_cases"]) == (5, 3, 1)

    # the valid case not self-handled falls due 72 h later; past it, still open: overdue
    api.clock.advance(timedelta(days=4))
    monthly = (await api.get("/api/v1/stats/monthly", "supervisor", params={"month": month})).json()
    g1 = next(w for w in monthly["grid_workers"] if w["name"] == "宝湖网格员一")
    assert (g1["cases_due"], g1["overdue"], g1["overdue_rate"]) == (1, 1, "100.00")
    assert monthly["previous_period"] < month and g1["previous"]["reported"] == 0

    mine = (await api.get("/api/v1/stats/monthly", "c1_grid1", params={"month": month})).json()
    assert [w["name"] for w in mine["grid_workers"]] == ["宝湖网格员一"] and mine["communities"] == []
    other = (await api.get("/api/v1/stats/monthly", "c2_director", params={"month": month})).json()
    assert [c["code"] for c in other["communities"]] == ["BJZL-02"]
    assert all(w["community_id"] != c1["community_id"] for w in other["grid_workers"])
    linked = (await api.get("/api/v1/stats/monthly", "operator1", params={"month": month})).json()
    assert [c["code"] for c in linked["communities"]] == ["BJZL-01", "BJZL-02"]

    bad = await api.get("/api/v1/stats/monthly", "supervisor", params={"month": "2026-13"})
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "month"

    r = await api.get("/api/v1/stats/monthly.xlsx", "supervisor", params={"month": month})
    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == [f"月通报 {month}（社区）", f"月通报 {month}（网格员）", "环比", "图表"]
    assert wb[f"月通报 {month}（社区）"]["A1"].value == "社区" and len(wb["图表"]._charts) == 2
    r = await api.get("/api/v1/stats/daily.xlsx", "supervisor", params={"date": day})
    assert load_workbook(io.BytesIO(r.content)).sheetnames == [f"日统计 {day}（社区）", f"日统计 {day}（网格员）"]


async def test_a_case_never_accepted_is_an_acceptance_timeout(api: Api) -> None:
    from tests.helpers import event

    day = api.clock.now().astimezone(SHANGHAI).date().isoformat()
    await api.send_event(event(community_code="BJZL-03"))  # dispatched at once, never accepted
    fresh = (await api.get("/api/v1/stats/daily", "supervisor", params={"date": day})).json()
    c3 = next(c for c in fresh["communities"] if c["code"] == "BJZL-03")
    assert c3["received"] == 1 and c3["acceptance_timeouts"] == 0  # within its 10 minutes
    api.clock.advance(timedelta(minutes=11))
    later = (await api.get("/api/v1/stats/daily", "supervisor", params={"date": day})).json()
    c3 = next(c for c in later["communities"] if c["code"] == "BJZL-03")
    assert c3["acceptance_timeouts"] == 1 and c3["accepted"] == 0
