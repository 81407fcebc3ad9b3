"""The district webhook against wrong and hostile deliveries: truncated, replayed and re-signed bodies,
unknown fields, an update that overtakes its create, and a storm of duplicates. Nothing is stored that
should not be; nothing the district was told it delivered is lost."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from sqlalchemy import func, select

from services.core.cases.district_contract import sign
from services.core.cases.models import DistrictEvent, PassiveCase
from tests.helpers import Api, event


async def count(api: Api, model: type) -> int:
    return int((await api.session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_truncated_body_stores_nothing(api: Api) -> None:
    raw = json.dumps(event(), ensure_ascii=False).encode()
    cut = raw[: len(raw) // 2]
    # Cut after signing (a dropped connection, a proxy): the signature no longer matches.
    r = await api.send_event(None, raw=cut, signature=sign(api.settings.district_secret,
                                                           str(int(api.clock.now().timestamp())), raw))
    assert r.status_code == 401 and r.json()["error"]["code"] == "signature_invalid"
    # Cut before signing (a sender's bug): signed, but not JSON.
    r = await api.send_event(None, raw=cut)
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    assert await count(api, PassiveCase) == 0 and await count(api, DistrictEvent) == 0


async def test_replay_inside_the_window_is_the_same_answer_and_outside_it_is_refused(api: Api) -> None:
    body = event(community_code="BJZL-01")
    raw = json.dumps(body, ensure_ascii=False).encode()
    stamp = int(api.clock.now().timestamp())
    signature = sign(api.settings.district_secret, str(stamp), raw)
    first = await api.send_event(None, raw=raw, ts=stamp, signature=signature)
    assert first.status_code == 201
    api.clock.advance(timedelta(seconds=60))  # the very same request, captured and sent again
    again = await api.send_event(None, raw=raw, ts=stamp, signature=signature)
    assert again.status_code == 200 and again.json()["case_id"] == first.json()["case_id"]
    api.clock.advance(timedelta(seconds=api.settings.district_replay_window_seconds))
    late = await api.send_event(None, raw=raw, ts=stamp, signature=signature)
    assert late.status_code == 401 and late.json()["error"]["code"] == "timestamp_out_of_window"
    assert await count(api, PassiveCase) == 1 and await count(api, DistrictEvent) == 1


async def test_a_body_changed_and_signed_with_another_key_is_refused(api: Api) -> None:
    body = event()
    body["case"]["title"] = "篡改的标题"
    r = await api.send_event(body, secret="a-key-that-is-not-the-district-s-0123456789")
    assert r.status_code == 401 and r.json()["error"]["code"] == "signature_invalid"
    assert await count(api, PassiveCase) == 0


async def test_unknown_fields_are_ignored_not_refused(api: Api) -> None:
    """The district may add fields before it tells us: an integration must not break on them."""
    body = event(community_code="BJZL-01", priority_level="urgent", tags=["夜间"])
    body["schema_version"] = "2.1"
    r = await api.send_event(body)
    assert r.status_code == 201, r.text
    case = (await api.session.execute(select(PassiveCase))).scalar_one()
    assert case.title == body["case"]["title"] and case.status == "dispatched"


async def test_an_update_that_overtakes_its_create_is_refused_then_applied_on_redelivery(api: Api) -> None:
    """Out of order: the update is answered 404 (not taken, so the district sends it again) and stores
    nothing; once the create has arrived, the redelivered update is applied. Nothing is lost."""
    created = event(district_case_id="JF-ORDER-1", community_code="BJZL-01")
    updated = event("case.updated", district_case_id="JF-ORDER-1", title="井盖缺失（已更正地址）",
                    deadline_at="2026-12-08T18:00:00+08:00")
    early = await api.send_event(updated)
    assert early.status_code == 404 and early.json()["error"]["code"] == "unknown_district_case"
    assert await count(api, PassiveCase) == 0 and await count(api, DistrictEvent) == 0
    assert (await api.send_event(created)).status_code == 201
    redelivered = await api.send_event(updated)
    assert redelivered.status_code == 200, redelivered.text
    case = (await api.session.execute(select(PassiveCase).execution_options(populate_existing=True))).scalar_one()
    assert case.title == "井盖缺失（已更正地址）"
    assert await count(api, DistrictEvent) == 2


async def test_a_storm_of_duplicates_makes_one_case_per_event(committing_api: Api) -> None:
    """Twenty events, each delivered ten times, all at once and shuffled: twenty cases, every copy of
    an event answered with its one case."""
    api = committing_api
    events = [event(community_code="BJZL-02") for _ in range(20)]
    deliveries = [e for _ in range(10) for e in events]
    order = list(range(len(deliveries)))
    order = order[::7] + [i for i in order if i % 7]  # interleave copies of different events
    results = await asyncio.gather(*(api.send_event(deliveries[i]) for i in order))
    assert all(r.status_code in (200, 201) for r in results), {r.status_code for r in results}
    by_event: dict[str, set[int]] = {}
    for i, r in zip(order, results, strict=True):
        by_event.setdefault(deliveries[i]["event_id"], set()).add(r.json()["case_id"])
    assert len(by_event) == 20 and all(len(ids) == 1 for ids in by_event.values())
    assert sum(r.status_code == 201 for r in results) == 20
    assert await count(api, PassiveCase) == 20 and await count(api, DistrictEvent) == 20
