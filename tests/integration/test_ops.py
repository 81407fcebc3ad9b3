"""Health, readiness, metrics; migrations up and down on a fresh database."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg

from services.cli import migrate
from services.core.db import plain_url
from services.core.ops import migration_head
from tests.conftest import test_settings
from tests.helpers import Api


async def test_health_ready_metrics(api: Api) -> None:
    assert (await api.client.get("/healthz")).json() == {"status": "ok", "process": "api"}
    r = await api.client.get("/readyz")
    assert r.status_code == 200 and r.json()["schema"] == migration_head()
    await api.client.get("/api/v1/categories")
    metrics = (await api.client.get("/metrics")).text
    assert 'liandong_http_request_duration_seconds_count{method="GET",route="/api/v1/categories"' in metrics


def _sql(url: str, sql: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(plain_url(url))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


def _tables(url: str) -> set[str]:
    async def run() -> set[str]:
        conn = await asyncpg.connect(plain_url(url))
        try:
            rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            return {r["tablename"] for r in rows}
        finally:
            await conn.close()

    return asyncio.run(run())


def test_migrations_up_down_up(new_database: Callable[[], str]) -> None:
    url = new_database()
    settings = test_settings(url)
    migrate(settings)
    assert {"passive_case", "case_event", "district_event", "person", "category"} <= _tables(url)
    # Data pointing at the default taxonomy must not block the way down.
    _sql(url, """INSERT INTO passive_case (district_case_id, source, title, status, category_id, deadline_at,
                 original_deadline_at, received_at, updated_at)
                 SELECT 'JF-MIG-1', 'hotline', 't', 'received', id, now(), now(), now(), now()
                 FROM category WHERE code = 'C0101'""")
    from alembic import command
    from alembic.config import Config

    from services.core.ops import MIGRATIONS_DIR

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["database_url"] = url
    command.downgrade(cfg, "base")
    assert _tables(url) == {"alembic_version"}
    migrate(settings)
    assert "passive_case" in _tables(url)


async def test_not_ready_before_migrations(new_database: Callable[[], str]) -> None:
    from services.core.db import create_engine
    from services.core.ops import readiness

    url = await asyncio.to_thread(new_database)
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        ok, detail = await readiness(engine)
        assert not ok and detail == {"database": "ok", "schema": None, "expected_schema": migration_head()}
    finally:
        await engine.dispose()


def test_models_and_migrations_agree(database_url: str) -> None:
    """`alembic check`: the migrations build exactly the schema the models describe."""
    from alembic import command
    from alembic.config import Config

    from services.core.ops import MIGRATIONS_DIR

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["database_url"] = database_url
    command.check(cfg)  # raises when autogenerate would find a difference
