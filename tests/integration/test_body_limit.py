"""Bodies larger than a route takes are refused with 413 before they are read, and nothing is stored."""

from __future__ import annotations

import json

from tests.helpers import Api, event


async def test_huge_webhook_bodies_are_413(api: Api) -> None:
    body = event()
    body["case"]["description"] = "井" * (1024 * 1024)  # 3 MB of UTF-8
    r = await api.send_event(body)
    assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(40):  # no Content-Length: counted as it streams
            yield b" " * 65536

    r = await api.client.post("/api/v1/district/events", content=chunks(),
                              headers={"Content-Type": "application/json", "X-Liandong-Timestamp": "0",
                                       "X-Liandong-Signature": "x"})
    assert r.status_code == 413
    small = await api.send_event(event())
    assert small.status_code == 201  # the ordinary ones pass


async def test_json_routes_take_a_megabyte_uploads_take_their_files(api: Api) -> None:
    big = json.dumps({"kind": "patrol", "occurred_on": "2026-11-02", "title": "t",
                      "details": {"members": ["x"] * 300_000}})
    r = await api.client.post("/api/v1/records", content=big, headers={
        **await api.headers("c1_director"), "Content-Type": "application/json"})
    assert r.status_code == 413
    from tests.integration.test_active_cases import JPEG, report

    ok = await report(api, photos={"photos_before": [("a.jpg", JPEG + b"\x00" * (2 * 1024 * 1024))]})
    assert ok.status_code == 201  # a 2 MB photo is fine on the upload route


async def test_every_request_has_an_id(api: Api, caplog: object) -> None:
    import logging

    with caplog.at_level(logging.INFO, logger="liandong.access"):  # type: ignore[attr-defined]
        auth = await api.headers("admin")
        given = await api.client.get("/api/v1/me", headers={**auth, "X-Request-ID": "trace-42"})
        made = await api.client.get("/api/v1/me", headers=auth)
        odd = await api.client.get("/api/v1/me", headers={**auth, "X-Request-ID": "not a sane id"})
    assert given.headers["x-request-id"] == "trace-42"
    assert len(made.headers["x-request-id"]) == 16 and odd.headers["x-request-id"] != "not a sane id"
    lines = [r for r in caplog.records if r.name == "liandong.access"]  # type: ignore[attr-defined]
    assert any(getattr(r, "request_id", None) == "trace-42" and r.status == 200 for r in lines)
