"""Health, readiness and metrics, the same on every process (api, escalator, notifier)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, Histogram, generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"

REQUEST_SECONDS = Histogram(
    "liandong_http_request_duration_seconds", "HTTP request latency", ["method", "route", "status"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


@lru_cache(maxsize=1)
def migration_head() -> str:
    """The newest Alembic revision shipped with this code."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


async def readiness(engine: AsyncEngine) -> tuple[bool, dict[str, Any]]:
    """Ready when the database answers and its schema is at our migration head."""
    try:
        async with engine.connect() as conn:
            current = None
            if (await conn.execute(text("SELECT to_regclass('alembic_version')"))).scalar() is not None:
                current = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    except Exception as exc:  # any failure means not ready; say why
        return False, {"database": "unreachable", "error": type(exc).__name__}
    head = migration_head()
    return current == head, {"database": "ok", "schema": current, "expected_schema": head}


def ops_router(process: str) -> APIRouter:
    router = APIRouter(tags=["ops"])

    @router.get("/healthz", summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "process": process}

    @router.get("/readyz", summary="Database reachable and at the migration head",
                responses={503: {"description": "Not ready (the same body, `status` is `not_ready`)"}})
    async def readyz(request: Request) -> JSONResponse:
        ok, detail = await readiness(request.app.state.engine)
        return JSONResponse({"status": "ready" if ok else "not_ready", "process": process, **detail},
                            status_code=200 if ok else 503)

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response,
                responses={200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {}}}})
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def attach_ops(app: FastAPI, process: str) -> None:
    app.include_router(ops_router(process))
