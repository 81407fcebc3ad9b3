"""What the fuzzer found, pinned: each was a 500 (or an error outside the documented shape) before."""

from __future__ import annotations

import json

from tests.helpers import Api, event


def assert_422(r: object, field: str) -> None:
    assert r.status_code == 422, r.text  # type: ignore[attr-defined]
    fields = [f["field"] for f in r.json()["error"]["fields"]]  # type: ignore[attr-defined]
    assert field in fields, fields


async def test_text_postgres_cannot_store_is_422_in_org_bodies(api: Api) -> None:
    assert_422(await api.client.put("/api/v1/street", headers=await api.headers("admin"),
                                    json={"code": "0", "name": "0", "district_name": "\u0000"}), "district_name")
    raw = json.dumps({"code": "X1", "name": "S\ud960"}).encode()  # a lone surrogate, escaped
    assert_422(await api.client.post("/api/v1/communities", content=raw, headers={
        **await api.headers("admin"), "Content-Type": "application/json"}), "name")


async def test_login_with_nul_in_the_username_is_422(api: Api) -> None:
    r = await api.client.post("/api/v1/auth/token", data={"username": "\x00", "password": "0"})
    assert_422(r, "username")


async def test_ids_beyond_what_json_clients_hold_are_422(api: Api) -> None:
    assert_422(await api.get("/api/v1/grids", "admin", params={"community_id": 2**63}), "community_id")
    assert_422(await api.get(f"/api/v1/cases/{2**63}", "admin"), "case_id")
    assert_422(await api.get("/api/v1/ledger", "admin", params={"offset": 2**63}), "offset")
    assert_422(await api.post("/api/v1/grids", "admin", {"community_id": 2**63, "code": "G", "name": "g"}),
               "community_id")


async def test_a_body_that_is_not_utf8_is_422_in_the_error_shape(api: Api) -> None:
    r = await api.client.put("/api/v1/assessments/pay/2026-11", content=b"\xff\xfe{", headers={
        **await api.headers("supervisor"), "Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error", r.text


async def test_webhook_refuses_nul_in_a_field_it_does_not_know(api: Api) -> None:
    created = event()
    assert (await api.send_event(created)).status_code == 201
    urge = {**event("case.urged", district_case_id=created["case"]["district_case_id"]), "extra": "\u0000"}
    r = await api.send_event(None, raw=json.dumps(urge).encode())
    assert_422(r, "extra")


async def test_text_filters_with_nul_are_422(api: Api) -> None:
    assert_422(await api.get("/api/v1/audit-log", "admin", params={"entity_id": "\x00"}), "entity_id")
    assert_422(await api.get("/api/v1/ledger", "admin", params={"category_code": "\x00"}), "category_code")
