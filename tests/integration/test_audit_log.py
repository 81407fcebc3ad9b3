"""The audit log: a person's writes through the API, with before and after, readable by supervisors,
changed by nobody (the database refuses it)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.helpers import Api
from tests.integration.test_records import record


async def test_writes_are_recorded_with_before_and_after(api: Api) -> None:
    rid = (await record(api)).json()["id"]
    await api.client.patch(f"/api/v1/records/{rid}", json={"title": "夜间巡查"}, headers=await api.headers("c1_vice"))
    log = (await api.get("/api/v1/audit-log", "supervisor", params={"entity": "record",
                                                                    "entity_id": str(rid)})).json()
    actions = [(e["action"], e["actor_id"]) for e in log["items"]]
    assert actions == [("update", await api.person_id("c1_vice")), ("insert", await api.person_id("c1_director"))]
    update = log["items"][0]
    assert update["before"]["title"] == "宝湖路巡查" and update["after"]["title"] == "夜间巡查"
    assert update["request"] == f"PATCH /api/v1/records/{rid}"
    person = await api.person_id("c1_grid2")
    await api.client.patch(f"/api/v1/people/{person}", json={"password": "a-new-long-password"},
                           headers=await api.headers("admin"))
    change = (await api.get("/api/v1/audit-log", "admin", params={"entity": "person",
                                                                  "entity_id": str(person)})).json()["items"][0]
    assert change["after"]["password_hash"] == "***"  # never the hash itself
    assert (await api.get("/api/v1/audit-log", "c1_director")).status_code == 403
    reads = (await api.get("/api/v1/audit-log", "supervisor", params={"entity": "community"})).json()
    assert reads["total"] == 0  # reading writes nothing


async def test_nobody_rewrites_it(api: Api) -> None:
    await record(api)
    with pytest.raises(DBAPIError, match="append-only"):
        async with api.session.begin_nested():
            await api.session.execute(text("UPDATE audit_log SET entity = 'x'"))
    with pytest.raises(DBAPIError, match="append-only"):
        async with api.session.begin_nested():
            await api.session.execute(text("DELETE FROM audit_log"))
