"""The api while its database is away (a restart, a failover): 503 `database_unavailable` with
`Retry-After`, in the error shape, never a 500; the district takes 503 as "not delivered" and sends again."""

from __future__ import annotations

import json

import asyncpg
import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy.exc import DBAPIError

from services.api.app import create_app
from services.api.errors import database_unavailable
from services.core.cases.district_contract import sign
from services.core.clock import FrozenClock
from services.core.db import create_engine
from services.core.demo import DEMO_PASSWORD
from tests.conftest import test_settings
from tests.helpers import event
from tests.procs import free_port


@pytest.mark.parametrize("gone", [
    f"postgresql://postgres@127.0.0.1:{free_port()}/liandong",  # nothing listens there
    "postgresql://postgres@/liandong?host=/nonexistent-liandong-socket-dir",  # a local socket gone while it restarts
])
async def test_requests_while_the_database_is_away_are_503_to_send_again(clock: FrozenClock, gone: str) -> None:
    settings = test_settings(gone)
    pool = await asyncpg.create_pool(gone, min_size=0)  # connects only when asked, like after a restart
    app = create_app(settings, clock=clock, engine=create_engine(gone), intake_pool=pool)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
        login = await client.post("/api/v1/auth/token", data={"username": "operator1", "password": DEMO_PASSWORD})
        raw = json.dumps(event()).encode()
        ts = str(int(clock.now().timestamp()))
        pushed = await client.post("/api/v1/district/events", content=raw, headers={
            "Content-Type": "application/json", "X-Liandong-Timestamp": ts,
            "X-Liandong-Signature": sign(settings.district_secret, ts, raw)})
    await pool.close()
    for r in (login, pushed):
        assert r.status_code == 503, r.text
        assert r.headers["Retry-After"] == "1"
        assert r.json()["error"]["code"] == "database_unavailable"


@pytest.mark.parametrize(("exc", "unavailable"), [
    (ConnectionRefusedError(111, "Connection refused"), True),
    (asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation"), True),
    (asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"), True),
    (asyncpg.exceptions.CannotConnectNowError("the database system is starting up"), True),
    (asyncpg.exceptions.InterfaceError("connection is closed"), True),
    (asyncpg.exceptions.InterfaceError("the number of query arguments cannot exceed 32767"), False),
    (asyncpg.exceptions.UndefinedColumnError("column x does not exist"), False),
    (ValueError("a bug"), False),
])
def test_what_counts_as_the_database_being_away(exc: Exception, unavailable: bool) -> None:
    assert database_unavailable(exc) is unavailable
    wrapped = DBAPIError("SELECT 1", None, exc)  # as SQLAlchemy raises it
    assert database_unavailable(wrapped) is unavailable
