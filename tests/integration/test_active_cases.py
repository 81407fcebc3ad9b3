"""Active cases (主动案件): reports with sniffed photos, self-handling, audit, upload to the district,
the duplicate hint, and who may see what."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from services.core.files.models import Attachment
from services.core.outbox.models import OutboxMessage
from tests.helpers import Api

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x01" * 200
PNG = b"\x89PNG\r\n\x1a\n" + b"\x02" * 200


async def report(api: Api, as_: str = "c1_grid1", *, photos: dict[str, list[tuple[str, bytes]]] | None = None,
                 **fields: Any) -> Any:
    data = {"category_code": "C0101", "description": "宝湖路12号井盖破损", "address": "宝湖路12号",
            "lat": "38.480000", "lng": "106.230000", **fields}
    files = [(field, (name, content, "image/jpeg")) for field, items in (photos or {}).items()
             for name, content in items]
    return await api.client.post("/api/v1/active-cases", data={k: str(v) for k, v in data.items() if v is not None},
                                 files=files or None, headers=await api.headers(as_))


async def test_self_handled_report_with_before_and_after_photos(api: Api) -> None:
    r = await report(api, self_handled="true",
                     photos={"photos_before": [("前.jpg", JPEG)], "photos_after": [("后.png", PNG)]})
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["self_handled"] is True and case["handled_at"] is not None and case["audit_status"] == "pending"
    assert [(p["stage"], p["content_type"]) for p in case["photos"]] == [("before", "image/jpeg"),
                                                                         ("after", "image/png")]
    photo = await api.get(f"/api/v1/attachments/{case['photos'][1]['id']}", "c1_grid1")
    assert photo.status_code == 200 and photo.content == PNG and photo.headers["content-type"] == "image/png"
    # the photo is as private as its case
    assert (await api.get(f"/api/v1/attachments/{case['photos'][1]['id']}", "c2_director")).status_code == 404
    assert (await api.get(f"/api/v1/attachments/{case['photos'][1]['id']}", "operator2")).status_code == 404
    assert (await api.get(f"/api/v1/attachments/{case['photos'][1]['id']}", "operator1")).status_code == 200


async def test_bad_reports_change_nothing_and_name_the_field(api: Api) -> None:
    before = (await api.get("/api/v1/active-cases", "supervisor")).json()["total"]
    no_after = await report(api, self_handled="true", photos={"photos_before": [("a.jpg", JPEG)]})
    assert no_after.status_code == 422 and no_after.json()["error"]["fields"][0]["field"] == "photos_after"
    fake = await report(api, photos={"photos_before": [("x.jpg", b"<?php echo 1; ?>")]})
    assert fake.status_code == 422 and fake.json()["error"]["code"] == "unsupported_file_type"
    big = await report(api, photos={"photos_before": [("big.jpg", JPEG + b"\x00" * (10 * 1024 * 1024))]})
    assert big.status_code == 422 and big.json()["error"]["code"] == "file_too_large"
    many = await report(api, photos={"photos_before": [(f"{i}.jpg", JPEG) for i in range(10)]})
    assert many.status_code == 422 and many.json()["error"]["code"] == "too_many_files"
    category = await report(api, category_code="NOPE")
    assert category.status_code == 422 and category.json()["error"]["fields"][0]["field"] == "category_code"
    half = await report(api, lng=None)
    assert half.status_code == 422 and half.json()["error"]["fields"][0]["field"] == "lng"
    other_grid = await report(api, grid_id=await grid_of(api, "c2_grid1"))
    assert other_grid.status_code == 403 and other_grid.json()["error"]["code"] == "not_your_grid"
    assert (await report(api, "c1_director")).status_code == 403  # holds no grid
    assert (await api.get("/api/v1/active-cases", "supervisor")).json()["total"] == before


async def grid_of(api: Api, username: str) -> int:
    from services.core.org.models import Grid

    person = await api.person_id(username)
    return int((await api.session.execute(select(Grid.id).where(Grid.grid_worker_id == person))).scalar_one())


async def test_audit_uploads_valid_cases_to_the_district(api: Api) -> None:
    case = (await report(api)).json()
    assert (await api.post(f"/api/v1/active-cases/{case['id']}/audit", "operator2",
                           {"result": "valid"})).status_code == 404  # not linked to BJZL-01
    assert (await api.post(f"/api/v1/active-cases/{case['id']}/audit", "c1_director",
                           {"result": "valid"})).status_code == 403
    r = await api.post(f"/api/v1/active-cases/{case['id']}/audit", "operator1", {"result": "valid"})
    assert r.status_code == 200 and r.json()["audit_status"] == "valid" and r.json()["deadline_at"] is not None
    again = await api.post(f"/api/v1/active-cases/{case['id']}/audit", "operator1", {"result": "false",
                                                                                      "note": "x"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_audited"
    rows = (await api.session.execute(select(OutboxMessage).where(
        OutboxMessage.idem_key == f"district:street-active-{case['id']}"))).scalars().all()
    assert len(rows) == 1 and rows[0].channel == "district"
    assert rows[0].message["event"]["type"] == "active_case.reported"
    assert rows[0].message["event"]["data"]["category_code"] == "C0101"
    handled = await api.post(f"/api/v1/active-cases/{case['id']}/handle", "c1_grid1")
    assert handled.status_code == 200 and handled.json()["handled_at"] is not None
    assert (await api.post(f"/api/v1/active-cases/{case['id']}/handle", "c1_grid1")).status_code == 409


async def test_invalid_and_false_need_a_reason_and_are_not_uploaded(api: Api) -> None:
    case = (await report(api)).json()
    bare = await api.post(f"/api/v1/active-cases/{case['id']}/audit", "operator1", {"result": "false"})
    assert bare.status_code == 422 and bare.json()["error"]["fields"][0]["field"] == "note"
    r = await api.post(f"/api/v1/active-cases/{case['id']}/audit", "supervisor",
                       {"result": "false", "note": "现场无此问题，系摆拍"})
    assert r.status_code == 200 and r.json()["audit_status"] == "false"
    rows = (await api.session.execute(select(OutboxMessage).where(
        OutboxMessage.idem_key == f"district:street-active-{case['id']}"))).scalars().all()
    assert rows == []


async def test_duplicate_hint_same_category_close_by(api: Api) -> None:
    first = (await report(api)).json()
    assert first["possible_duplicate_of"] is None or first["possible_duplicate_of"] != first["id"]
    near = (await report(api, "c1_grid1", lat="38.480200", lng="106.230100")).json()  # ~24 m away
    assert near["possible_duplicate_of"] == first["id"]
    far = (await report(api, "c1_grid1", lat="38.490000", lng="106.230000")).json()  # ~1.1 km away
    assert far["possible_duplicate_of"] != first["id"]
    other = (await report(api, "c1_grid1", category_code="C0102")).json()
    assert other["possible_duplicate_of"] is None


async def test_scope_of_lists(api: Api) -> None:
    mine = (await report(api)).json()
    assert Decimal(mine["lat"]) == Decimal("38.48")
    ids = lambda page: {c["id"] for c in page["items"]}  # noqa: E731
    assert mine["id"] in ids((await api.get("/api/v1/active-cases", "c1_grid1")).json())
    assert mine["id"] not in ids((await api.get("/api/v1/active-cases", "c1_grid2")).json())  # a colleague's
    assert mine["id"] in ids((await api.get("/api/v1/active-cases", "c1_director")).json())
    assert mine["id"] not in ids((await api.get("/api/v1/active-cases", "c2_director")).json())
    assert mine["id"] in ids((await api.get("/api/v1/active-cases", "operator1")).json())
    assert mine["id"] not in ids((await api.get("/api/v1/active-cases", "operator2")).json())
    assert mine["id"] in ids((await api.get("/api/v1/active-cases", "commander",
                                            params={"audit_status": "pending"})).json())
    assert (await api.get(f"/api/v1/active-cases/{mine['id']}", "c1_grid2")).status_code == 404


@pytest.mark.parametrize(("name", "shown"), [
    ("../../../etc/passwd.jpg", "../../../etc/passwd.jpg"), ("..\\..\\boot.ini", "..\\..\\boot.ini"),
    ("/etc/shadow", "/etc/shadow"), ("现场\x00.jpg", "现场.jpg"), ("a\tb\x1b[31m.jpg", "ab[31m.jpg"),
    ("名" * 300 + ".jpg", "名" * 200)])
async def test_a_photo_name_is_never_a_path_and_never_breaks_the_report(api: Api, name: str, shown: str) -> None:
    """The name a client gives a photo is kept only to show (control characters dropped, cut to 200),
    never used as a path: the file is stored under its content's hash."""
    boundary = "liandong-test-boundary"  # a raw form: httpx would percent-encode the control characters
    head = "".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
                   for k, v in (("category_code", "C0101"), ("description", "宝湖路12号井盖破损")))
    body = (head + f'--{boundary}\r\nContent-Disposition: form-data; name="photos_before"; filename="{name}"\r\n'
            f"Content-Type: image/jpeg\r\n\r\n").encode() + JPEG + f"\r\n--{boundary}--\r\n".encode()
    r = await api.client.post("/api/v1/active-cases", content=body, headers={
        **await api.headers("c1_grid1"), "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert r.status_code == 201, r.text
    assert r.json()["photos"][0]["original_name"] == shown
    keys = (await api.session.execute(select(Attachment.storage_key))).scalars().all()
    assert keys and all(re.fullmatch("[0-9a-f]{64}", k) for k in keys)
