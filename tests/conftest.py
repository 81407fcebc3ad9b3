"""Test fixtures: a real Postgres built by the migrations, one rolled-back transaction per test.

``DATABASE_URL`` given: a fresh database is created on that server (and dropped afterwards).
Not given: a fresh embedded Postgres (pgserver) under ``.data/pg-test``.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.api.app import create_app
from services.api.deps import get_session
from services.cli import migrate
from services.core.clock import SHANGHAI, FrozenClock
from services.core.config import Settings
from services.core.db import create_engine, create_raw_pool, create_sessionmaker, plain_url, transaction
from services.core.demo import seed_demo
from tests.helpers import Api

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2026, 12, 4, 9, 0, tzinfo=SHANGHAI)
JWT_SECRET = "test-jwt-secret-0123456789abcdef0123456789"
DISTRICT_SECRET = "test-district-secret-0123456789abcdef0123"


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(plain_url(url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A Postgres server: the one at DATABASE_URL, else a fresh embedded one."""
    given = os.environ.get("DATABASE_URL") or os.environ.get("LIANDONG_DATABASE_URL")
    if given:
        yield given
        return
    from services.core.embedded_pg import start_embedded_postgres

    yield start_embedded_postgres(ROOT / ".data" / "pg-test", fresh=True)


@pytest.fixture(scope="session")
def new_database(server_url: str) -> Iterator[object]:
    """A factory of empty databases on the test server, all dropped at the end."""
    made: list[str] = []

    def make() -> str:
        name = f"liandong_test_{uuid.uuid4().hex[:10]}"
        asyncio.run(_admin(server_url, f'CREATE DATABASE "{name}"'))
        made.append(name)
        return make_url(server_url).set(database=name).render_as_string(hide_password=False)

    yield make
    for name in made:
        asyncio.run(_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def migrate_and_seed(url: str) -> None:
    """Migrate the database at ``url`` to head and seed the demo street (committed)."""
    migrate(test_settings(url))

    async def seed() -> None:
        engine = create_engine(url, pool_size=1, max_overflow=0)
        async with transaction(create_sessionmaker(engine)) as session:
            await seed_demo(session)
        await engine.dispose()

    asyncio.run(seed())


@pytest.fixture(scope="session")
def database_url(new_database: object) -> str:
    """The suite's database: migrated to head and seeded with the demo street (committed once)."""
    url: str = new_database()  # type: ignore[operator]
    migrate_and_seed(url)
    return url


# Uploaded files of the tests go to a temporary directory, not the checkout's .data.
TEST_DATA_DIR = Path(tempfile.mkdtemp(prefix="liandong-test-"))


def test_settings(url: str, **overrides: object) -> Settings:
    overrides.setdefault("data_dir", TEST_DATA_DIR)
    return Settings(env="test", database_url=url, jwt_secret=JWT_SECRET, district_secret=DISTRICT_SECRET,
                    **overrides)  # type: ignore[arg-type]


test_settings.__test__ = False  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(database_url, pool_size=5, max_overflow=5)
    yield eng
    await eng.dispose()


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session inside an outer transaction that is rolled back after the test."""
    async with engine.connect() as conn:
        outer = await conn.begin()
        s = AsyncSession(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
        try:
            yield s
        finally:
            await s.close()
            await outer.rollback()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return test_settings(database_url)


class SessionConnections:
    """The test session's own asyncpg connection, so the webhook's plain-SQL path joins the test's
    transaction (and is rolled back with it)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[Any]:
        raw = await (await self.session.connection()).get_raw_connection()
        yield raw.driver_connection


@pytest.fixture
async def api(session: AsyncSession, clock: FrozenClock, settings: Settings, engine: AsyncEngine
              ) -> AsyncIterator[Api]:
    """The app over ASGI, every request in the test's transaction (a savepoint per request)."""
    app = create_app(settings, clock=clock, engine=engine, intake_pool=SessionConnections(session))

    async def test_session() -> AsyncIterator[AsyncSession]:
        session.expunge_all()  # like a fresh session per request: nothing cached between requests
        try:
            yield session
            await session.commit()  # releases the request's savepoint only
        except BaseException:
            await session.rollback()
            raise

    app.dependency_overrides[get_session] = test_session
    app.state.session_scope = asynccontextmanager(test_session)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
        yield Api(client, session, clock, settings)


@pytest.fixture
async def committing_api(clock: FrozenClock, settings: Settings, engine: AsyncEngine
                         ) -> AsyncIterator[Api]:
    """The app with real commits (for races between transactions); case data is wiped afterwards."""
    pool = await create_raw_pool(settings.database_url or "", max_size=10)
    app = create_app(settings, clock=clock, engine=engine, intake_pool=pool)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client, \
            create_sessionmaker(engine)() as s:
        yield Api(client, s, clock, settings)
    await pool.close()
    async with engine.begin() as conn:
        await conn.exec_driver_sql("TRUNCATE case_event, district_event, passive_case RESTART IDENTITY CASCADE")
