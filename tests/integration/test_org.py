"""Organisation admin endpoints, categories and login."""

from __future__ import annotations

from datetime import timedelta

from tests.helpers import Api


async def test_admin_manages_communities_grids_people_links(api: Api) -> None:
    r = await api.post("/api/v1/communities", "admin", {"code": "BJZL-09", "name": "试点社区"})
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    assert (await api.post("/api/v1/communities", "admin", {"code": "BJZL-09", "name": "重复"})).json()[
        "error"]["code"] == "code_taken"

    r = await api.post("/api/v1/people", "admin", {
        "username": "new_handler", "name": "新接单员", "password": "long-enough-1",
        "mobile": "13900001111", "roles": [{"role": "community_handler", "community_id": cid},
                                           {"role": "grid_worker", "community_id": cid}]})
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    assert r.json()["roles"] == [{"role": "community_handler", "community_id": cid},
                                 {"role": "grid_worker", "community_id": cid}]

    r = await api.post("/api/v1/grids", "admin", {"community_id": cid, "code": "BJZL-09-G1", "name": "第1网格",
                                                  "grid_worker_id": pid})
    assert r.status_code == 201
    r = await api.client.put(f"/api/v1/people/{pid}/roles", headers=await api.headers("admin"),
                             json={"roles": [{"role": "operator"}]})
    assert r.status_code == 200 and r.json()["roles"] == [{"role": "operator", "community_id": None}]
    r = await api.client.put(f"/api/v1/operators/{pid}/communities", headers=await api.headers("supervisor"),
                             json={"community_ids": [cid, cid]})
    assert r.status_code == 200 and r.json() == {"operator_id": pid, "community_ids": [cid]}

    # the new person logs in with the password set above
    r = await api.client.post("/api/v1/auth/token", data={"username": "new_handler",
                                                          "password": "long-enough-1"})
    assert r.status_code == 200 and r.json()["token_type"] == "bearer"
    me = await api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"})
    assert me.json()["linked_community_ids"] == [cid]


async def test_role_grants_are_checked(api: Api) -> None:
    base = {"username": "x_user", "name": "某人", "password": "long-enough-1"}
    r = await api.post("/api/v1/people", "admin", {**base, "roles": [{"role": "community_handler"}]})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "roles[0].community_id"
    r = await api.post("/api/v1/people", "admin", {**base, "roles": [{"role": "operator", "community_id": 1}]})
    assert r.status_code == 422
    r = await api.post("/api/v1/people", "admin", {**base, "roles": [{"role": "emperor"}]})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "roles.0.role"
    r = await api.post("/api/v1/people", "admin", {**base, "password": "short"})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "password"
    r = await api.client.put(f"/api/v1/operators/{await api.person_id('c1_handler')}/communities",
                             headers=await api.headers("admin"), json={"community_ids": []})
    assert r.status_code == 422 and r.json()["error"]["code"] == "not_an_operator"


async def test_only_org_admins_manage_the_organisation(api: Api) -> None:
    for user in ("operator1", "c1_director", "commander"):
        r = await api.post("/api/v1/communities", user, {"code": "BJZL-99", "name": "不该建"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "role_not_allowed"
    r = await api.get("/api/v1/communities", "c1_grid1")
    assert r.status_code == 200 and len(r.json()) == 3


async def test_people_list_is_scoped(api: Api) -> None:
    everyone = {p["username"] for p in (await api.get("/api/v1/people", "supervisor")).json()}
    mine = {p["username"] for p in (await api.get("/api/v1/people", "c1_director")).json()}
    assert "operator2" in everyone and "c3_handler" in everyone
    assert mine == {"c1_director", "c1_vice", "c1_secretary", "c1_handler", "c1_grid1", "c1_grid2"}


async def test_default_taxonomy_and_editing(api: Api) -> None:
    cats = (await api.get("/api/v1/categories", "c1_grid1")).json()
    codes = {c["code"]: c for c in cats}
    assert codes["C01"]["name"] == "公用设施" and codes["C01"]["level"] == 1
    assert codes["E0101"]["name"] == "暴露垃圾" and codes["E0101"]["parent_id"] == codes["E01"]["id"]
    events = (await api.get("/api/v1/categories", "c1_grid1", params={"kind": "event"})).json()
    assert all(c["kind"] == "event" for c in events)

    r = await api.post("/api/v1/categories", "admin", {"code": "E0199", "name": "共享单车乱停",
                                                       "kind": "event", "parent_code": "E01"})
    assert r.status_code == 201 and r.json()["level"] == 2
    r = await api.post("/api/v1/categories", "admin", {"code": "E0198", "name": "错", "kind": "component",
                                                       "parent_code": "E01"})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "kind"
    r = await api.post("/api/v1/categories", "admin", {"code": "E0197", "name": "错", "kind": "event",
                                                       "parent_code": "E0101"})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "parent_code"
    r = await api.post("/api/v1/categories", "operator1", {"code": "E0196", "name": "无权", "kind": "event"})
    assert r.status_code == 403
    cid = codes["E0106"]["id"]
    r = await api.client.patch(f"/api/v1/categories/{cid}", headers=await api.headers("admin"),
                               json={"active": False})
    assert r.status_code == 200 and r.json()["active"] is False
    assert "E0106" not in {c["code"] for c in (await api.get("/api/v1/categories", "admin")).json()}


async def test_login_and_token_expiry(api: Api) -> None:
    from services.core.demo import DEMO_PASSWORD

    r = await api.client.post("/api/v1/auth/token", data={"username": "operator1", "password": "wrong"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_credentials"
    r = await api.client.post("/api/v1/auth/token", data={"username": "nobody", "password": "wrong"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_credentials"
    r = await api.client.post("/api/v1/auth/token", data={"username": "operator1", "password": DEMO_PASSWORD})
    token = r.json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    assert (await api.client.get("/api/v1/me", headers=auth)).json()["username"] == "operator1"
    api.clock.advance(timedelta(minutes=api.settings.access_token_minutes))
    r = await api.client.get("/api/v1/me", headers=auth)
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_expired"


async def test_inactive_person_is_locked_out(api: Api) -> None:
    pid = await api.person_id("c2_handler")
    headers = await api.headers("c2_handler")
    r = await api.client.patch(f"/api/v1/people/{pid}", headers=await api.headers("admin"),
                               json={"active": False})
    assert r.status_code == 200
    assert (await api.client.get("/api/v1/me", headers=headers)).status_code == 401


async def test_street_and_grids(api: Api) -> None:
    assert (await api.get("/api/v1/street", "c1_grid1")).json()["name"] == "北京中路街道"
    r = await api.client.put("/api/v1/street", headers=await api.headers("admin"),
                             json={"code": "640106001", "name": "北京中路街道办事处"})
    assert r.status_code == 200 and r.json()["district_name"] == "金凤区"
    r = await api.client.put("/api/v1/street", headers=await api.headers("operator1"),
                             json={"code": "X", "name": "Y"})
    assert r.status_code == 403

    grids = (await api.get("/api/v1/grids", "admin", params={"community_id": await api.community_id("BJZL-01")})).json()
    assert [g["code"] for g in grids] == ["BJZL-01-G1", "BJZL-01-G2"]
    gid = grids[0]["id"]
    r = await api.client.patch(f"/api/v1/grids/{gid}", headers=await api.headers("admin"),
                               json={"grid_worker_id": await api.person_id("c1_grid2")})
    assert r.status_code == 200 and r.json()["grid_worker_id"] == await api.person_id("c1_grid2")
    r = await api.client.patch(f"/api/v1/grids/{gid}", headers=await api.headers("admin"),
                               json={"grid_worker_id": await api.person_id("c2_grid1")})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "grid_worker_id"
    r = await api.post("/api/v1/grids", "admin", {"community_id": await api.community_id("BJZL-01"),
                                                  "code": "BJZL-01-G1", "name": "重复"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "code_taken"


async def test_only_admins_touch_admins(api: Api) -> None:
    sup = await api.person_id("supervisor")
    admin = await api.person_id("admin")
    r = await api.client.put(f"/api/v1/people/{sup}/roles", headers=await api.headers("supervisor"),
                             json={"roles": [{"role": "admin"}, {"role": "department_supervisor"}]})
    assert r.status_code == 403 and r.json()["error"]["code"] == "admin_only"
    r = await api.client.patch(f"/api/v1/people/{admin}", headers=await api.headers("supervisor"),
                               json={"password": "taken-over-1"})
    assert r.status_code == 403
    r = await api.client.patch(f"/api/v1/people/{admin}", headers=await api.headers("admin"), json={"active": False})
    assert r.status_code == 409 and r.json()["error"]["code"] == "last_admin"
    r = await api.post("/api/v1/people", "supervisor", {"username": "sneaky", "name": "x", "password": "long-enough-1",
                                                       "roles": [{"role": "admin"}]})
    assert r.status_code == 403


async def test_too_long_fields_are_422(api: Api) -> None:
    r = await api.post("/api/v1/people", "admin", {"username": "longname", "name": "名" * 80,
                                                  "password": "long-enough-1", "mobile": "+" + "1" * 20})
    assert r.status_code == 422
    assert {f["field"] for f in r.json()["error"]["fields"]} == {"name", "mobile"}
