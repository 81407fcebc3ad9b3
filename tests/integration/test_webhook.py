"""The district webhook: signature, replay window, duplicates, invalid bodies, event types."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import func, select

from services.core.cases.models import CaseEvent, DistrictEvent, PassiveCase
from tests.helpers import Api, event


async def count(api: Api, model: type) -> int:
    return int((await api.session.execute(select(func.count()).select_from(model))).scalar_one())


async def nothing_stored(api: Api) -> bool:
    return await count(api, PassiveCase) == 0 and await count(api, DistrictEvent) == 0


async def test_created_event_stores_a_case(api: Api) -> None:
    body = event()
    r = await api.send_event(body)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out == {"case_id": out["case_id"], "status": "received", "duplicate": False}
    case = await api.session.get(PassiveCase, out["case_id"])
    assert case is not None
    assert case.district_case_id == body["case"]["district_case_id"]
    assert case.deadline_at.isoformat() == "2026-12-06T10:00:00+00:00"
    assert case.category_id is not None and case.community_id is None
    assert str(case.lat) == "38.480000"
    events = (await api.session.execute(select(CaseEvent.action).where(CaseEvent.case_id == case.id))).all()
    assert [e.action for e in events] == ["receive"]


async def test_known_community_code_auto_dispatches(api: Api) -> None:
    r = await api.send_event(event(community_code="BJZL-02"))
    assert r.status_code == 201 and r.json()["status"] == "dispatched"
    case = await api.session.get(PassiveCase, r.json()["case_id"])
    assert case is not None and case.community_id == await api.community_id("BJZL-02")
    assert case.dispatched_at == api.clock.now()


async def test_unknown_community_code_waits_for_an_operator(api: Api) -> None:
    r = await api.send_event(event(community_code="NOPE"))
    assert r.status_code == 201 and r.json()["status"] == "received"


async def test_same_event_id_is_idempotent(api: Api) -> None:
    body = event()
    first = await api.send_event(body)
    again = await api.send_event(body)
    assert again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["X-Liandong-Replayed"] == "true"
    assert await count(api, PassiveCase) == 1 and await count(api, CaseEvent) == 1


async def test_same_event_id_with_other_content_is_refused(api: Api) -> None:
    body = event()
    await api.send_event(body)
    body["case"]["title"] = "另一个标题"
    r = await api.send_event(body)
    assert r.status_code == 409 and r.json()["error"]["code"] == "event_id_reused"


async def test_known_district_case_under_new_event_id_is_no_second_case(api: Api) -> None:
    first = await api.send_event(event(district_case_id="JF-DUP-1"))
    second = await api.send_event(event(district_case_id="JF-DUP-1"))
    assert second.status_code == 200
    assert second.json() == {"case_id": first.json()["case_id"], "status": "received", "duplicate": True}
    assert await count(api, PassiveCase) == 1


@pytest.mark.parametrize(("kind", "code"), [
    ("wrong_secret", "signature_invalid"), ("tampered_body", "signature_invalid"),
    ("no_signature", "signature_missing"), ("no_timestamp", "signature_missing"),
    ("bad_timestamp", "timestamp_invalid"), ("too_old", "timestamp_out_of_window"),
    ("too_new", "timestamp_out_of_window"),
])
async def test_bad_signature_or_timestamp_is_401_and_stores_nothing(api: Api, kind: str, code: str) -> None:
    body = event()
    raw = json.dumps(body).encode()
    now = int(api.clock.now().timestamp())
    headers = {"Content-Type": "application/json"}
    from services.core.cases.district_contract import sign

    good = sign(api.settings.district_secret, str(now), raw)
    if kind == "wrong_secret":
        r = await api.send_event(body, secret="another-secret")
    elif kind == "tampered_body":
        r = await api.send_event(body, raw=raw.replace(b"hotline", b"media!!"), signature=good)
    elif kind == "no_signature":
        r = await api.client.post("/api/v1/district/events", content=raw,
                                  headers={**headers, "X-Liandong-Timestamp": str(now)})
    elif kind == "no_timestamp":
        r = await api.client.post("/api/v1/district/events", content=raw,
                                  headers={**headers, "X-Liandong-Signature": good})
    elif kind == "bad_timestamp":
        r = await api.client.post("/api/v1/district/events", content=raw, headers={
            **headers, "X-Liandong-Timestamp": "yesterday", "X-Liandong-Signature": good})
    elif kind == "too_old":
        r = await api.send_event(body, ts=now - 301)
    else:
        r = await api.send_event(body, ts=now + 301)
    assert r.status_code == 401, r.text
    assert r.json()["error"]["code"] == code
    assert await nothing_stored(api)


async def test_timestamp_at_the_edge_of_the_window_is_accepted(api: Api) -> None:
    now = int(api.clock.now().timestamp())
    assert (await api.send_event(event(), ts=now - 300)).status_code == 201
    assert (await api.send_event(event(), ts=now + 300)).status_code == 201


@pytest.mark.parametrize(("mutate", "fields"), [
    (lambda b: b["case"].pop("title"), ["case.title"]),
    (lambda b: b["case"].update(source="wechat"), ["case.source"]),
    (lambda b: b["case"].update(deadline_at="2026-12-06T18:00:00"), ["case.deadline_at"]),
    (lambda b: b["case"].update(location={"lat": 138, "lng": 106}), ["case.location.lat"]),
    (lambda b: b["case"].update(complexity="hard"), ["case.complexity"]),
    (lambda b: b.pop("event_id"), ["event_id"]),
    (lambda b: b.update(type="case.deleted"), ["type"]),
    (lambda b: b.update(occurred_at="soon"), ["occurred_at"]),
    (lambda b: (b["case"].pop("district_case_id"), b["case"].pop("deadline_at")),
     ["case.district_case_id", "case.deadline_at"]),
])
async def test_invalid_body_is_422_naming_fields(api: Api, mutate: object, fields: list[str]) -> None:
    body = event()
    mutate(body)  # type: ignore[operator]
    r = await api.send_event(body)
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "validation_error"
    assert [f["field"] for f in err["fields"]] == fields
    for f in fields:
        assert f in err["message"]
    assert await nothing_stored(api)


async def test_body_that_is_not_json_is_422(api: Api) -> None:
    r = await api.send_event(None, raw=b"{not json")
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    assert await nothing_stored(api)


async def test_updated_urged_recalled(api: Api) -> None:
    created = await api.send_event(event(district_case_id="JF-U-1"))
    case_id = created.json()["case_id"]
    r = await api.send_event(event("case.updated", district_case_id="JF-U-1", title="新标题",
                                   deadline_at="2026-12-08T18:00:00+08:00"))
    assert r.status_code == 200 and r.json() == {"case_id": case_id, "status": "received", "duplicate": False}
    r = await api.send_event(event("case.urged", district_case_id="JF-U-1"))
    assert r.status_code == 200
    r = await api.send_event(event("case.recalled", district_case_id="JF-U-1"))
    assert r.status_code == 200 and r.json()["status"] == "recalled"
    case = await api.session.get(PassiveCase, case_id)
    assert case is not None
    await api.session.refresh(case)
    assert case.title == "新标题" and case.reminder_count == 1 and case.recalled_at is not None
    assert case.deadline_at.isoformat() == "2026-12-08T10:00:00+00:00"
    actions = (await api.session.execute(select(CaseEvent.action).where(CaseEvent.case_id == case_id)
                                         .order_by(CaseEvent.id))).scalars().all()
    assert actions == ["receive", "district_update", "district_urge", "recall"]


async def test_event_for_unknown_case_is_404_and_stores_nothing(api: Api) -> None:
    r = await api.send_event(event("case.urged", district_case_id="JF-NOPE"))
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_district_case"
    assert await count(api, DistrictEvent) == 0


async def test_racing_redeliveries_make_one_case(committing_api: Api) -> None:
    """Eight deliveries of one event at once (real transactions): one case, one answer."""
    api = committing_api
    body = event()
    results = await asyncio.gather(*(api.send_event(body) for _ in range(8)))
    assert sorted(r.status_code for r in results) == [200] * 7 + [201]
    assert len({r.json()["case_id"] for r in results}) == 1
    assert await count(api, PassiveCase) == 1 and await count(api, DistrictEvent) == 1


async def test_racing_creates_of_one_district_case(committing_api: Api) -> None:
    api = committing_api
    results = await asyncio.gather(*(api.send_event(event(district_case_id="JF-RACE")) for _ in range(6)))
    assert sorted(r.json()["duplicate"] for r in results) == [False] + [True] * 5
    assert await count(api, PassiveCase) == 1 and await count(api, DistrictEvent) == 6


async def test_racing_reuse_of_an_event_id_keeps_one_case(committing_api: Api) -> None:
    """Twins with one event_id but different cases, at once: one wins, the other is refused whole."""
    api = committing_api
    for round_ in range(5):
        a = event(event_id=f"e-twin-{round_}", district_case_id=f"JF-TWIN-{round_}-A")
        b = event(event_id=f"e-twin-{round_}", district_case_id=f"JF-TWIN-{round_}-B")
        results = await asyncio.gather(api.send_event(a), api.send_event(b))
        assert sorted(r.status_code for r in results) == [201, 409], [r.text for r in results]
        assert [r.json()["error"]["code"] for r in results if r.status_code == 409] == ["event_id_reused"]
    assert await count(api, PassiveCase) == 5 and await count(api, DistrictEvent) == 5


@pytest.mark.parametrize(("headers", "code"), [
    ({"X-Liandong-Timestamp": "1" + "0" * 400}, "timestamp_invalid"),
    ({"X-Liandong-Timestamp": "١٧٦٤٨١٠٠٠٠"}, "timestamp_invalid"),  # digits, but not ASCII ones
    ({"X-Liandong-Signature": "é" * 64}, "signature_invalid"),
])
async def test_odd_headers_are_401_not_500(api: Api, headers: dict[str, str], code: str) -> None:
    raw = json.dumps(event()).encode()
    base = {"Content-Type": "application/json", "X-Liandong-Timestamp": str(int(api.clock.now().timestamp())),
            "X-Liandong-Signature": "0" * 64}
    r = await api.client.post("/api/v1/district/events", content=raw,
                              headers={k: v.encode("utf-8") for k, v in {**base, **headers}.items()})
    assert r.status_code == 401 and r.json()["error"]["code"] == code


async def test_nul_characters_are_422(api: Api) -> None:
    body = event(title="井盖\u0000缺失")
    body["case"]["extra"] = {"deep": ["ok", "bad\u0000"]}
    r = await api.send_event(body)
    assert r.status_code == 422
    assert [f["field"] for f in r.json()["error"]["fields"]] == ["case.title", "case.extra.deep.1"]
    assert await nothing_stored(api)


async def test_update_with_community_code_dispatches_a_waiting_case(api: Api) -> None:
    created = await api.send_event(event(district_case_id="JF-RR-1"))
    assert created.json()["status"] == "received"
    r = await api.send_event(event("case.updated", district_case_id="JF-RR-1", community_code="BJZL-02"))
    assert r.status_code == 200 and r.json()["status"] == "dispatched"
    case = await api.session.get(PassiveCase, created.json()["case_id"])
    assert case is not None
    await api.session.refresh(case)
    assert case.community_id == await api.community_id("BJZL-02") and case.district_community_code == "BJZL-02"


async def test_replayed_update_answers_the_same_body(api: Api) -> None:
    await api.send_event(event(district_case_id="JF-RP-1"))
    body = event("case.urged", district_case_id="JF-RP-1")
    first = await api.send_event(body)
    again = await api.send_event(body)
    assert first.content == again.content
