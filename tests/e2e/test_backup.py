"""The documented backup and restore (docs/operations.md) round trip: pg_dump of a working database,
pg_restore into an empty one, and the restored one is the same and works (at the migration head,
the audit log still append-only)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import asyncpg
import pytest

from services.core.db import plain_url
from tests.conftest import DISTRICT_SECRET, JWT_SECRET, ROOT
from tests.procs import migrate_and_seed_cli

TABLES = ("person", "person_role", "community", "grid", "category", "escalation_policy", "passive_case", "case_timer",
          "audit_log", "alembic_version")


def tool(name: str) -> str:
    """The Postgres client that ships with pgserver (new enough for any server the suite runs on)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR
        import pgserver

    return str(Path(pgserver.__file__).parent / "pginstall" / "bin" / name)


async def counts(url: str) -> dict[str, object]:
    conn = await asyncpg.connect(plain_url(url))
    try:
        out: dict[str, object] = {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in TABLES}
        out["version"] = await conn.fetchval("SELECT version_num FROM alembic_version")
        return out
    finally:
        await conn.close()


def test_dump_and_restore_round_trip(new_database: Callable[[], str], tmp_path: Path) -> None:
    source, target = new_database(), new_database()
    env = {**os.environ, "DATABASE_URL": source, "LIANDONG_ENV": "test", "LIANDONG_JWT_SECRET": JWT_SECRET,
           "LIANDONG_DISTRICT_SECRET": DISTRICT_SECRET, "LIANDONG_LOG_LEVEL": "WARNING"}
    migrate_and_seed_cli(env)

    async def some_work() -> None:
        conn = await asyncpg.connect(plain_url(source))
        try:
            await conn.execute("INSERT INTO audit_log (at, entity, action) VALUES (now(), 'person', 'update')")
            await conn.execute("""INSERT INTO passive_case (district_case_id, source, title, status, deadline_at,
                original_deadline_at, received_at, updated_at, timer_generation, dispatch_count)
                VALUES ('JF-BACKUP-1', 'hotline', '备份测试', 'received', now(), now(), now(), now(), 0, 0)""")
        finally:
            await conn.close()

    asyncio.run(some_work())
    dump = tmp_path / "liandong.dump"
    subprocess.run([tool("pg_dump"), "--format=custom", f"--file={dump}", plain_url(source)], check=True)
    subprocess.run([tool("pg_restore"), "--no-owner", f"--dbname={plain_url(target)}", str(dump)], check=True)
    before, after = asyncio.run(counts(source)), asyncio.run(counts(target))
    assert after == before and after["passive_case"] == 1 and after["audit_log"] == 1

    migrated = subprocess.run([sys.executable, "-m", "services.cli", "migrate"], cwd=ROOT, capture_output=True,
                              text=True, env={**env, "DATABASE_URL": target})
    assert migrated.returncode == 0 and "Running upgrade" not in migrated.stderr  # at the head already

    async def still_append_only() -> None:
        conn = await asyncpg.connect(plain_url(target))
        try:
            with pytest.raises(asyncpg.PostgresError, match="append-only"):
                await conn.execute("DELETE FROM audit_log")
        finally:
            await conn.close()

    asyncio.run(still_append_only())
