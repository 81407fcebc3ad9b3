"""The api process: app factory with its lifespan (engine, session factory), routers and handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from services.api.body_limit import BodyLimitMiddleware
from services.api.errors import COMMON_ERRORS, install_error_handlers
from services.api.request_ids import RequestMiddleware
from services.api.routers import (
    active_cases,
    assessments,
    audit,
    auth,
    cases,
    categories,
    district,
    ledger,
    org,
    policies,
    records,
    reminders,
    stats,
)
from services.core.clock import Clock, SystemClock
from services.core.config import Settings, get_settings
from services.core.db import create_engine, create_raw_pool, create_sessionmaker, transaction
from services.core.ops import attach_ops

DESCRIPTION = """
Liandong (联动): the street office's Big Linkage platform.
Log in at `POST /api/v1/auth/token` (OAuth2 password flow) and send `Authorization: Bearer <token>`.
The district platform pushes signed events to `POST /api/v1/district/events`.
Errors are `{"error": {"code", "message", "fields"?}}` with a stable `code`.
"""


def create_app(settings: Settings | None = None, *, clock: Clock | None = None,
               engine: AsyncEngine | None = None, intake_pool: Any = None) -> FastAPI:
    """Build the api. Tests pass their own settings, clock, engine and intake pool (anything with
    an asyncpg-style ``acquire()``)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_engine = engine is None
        app.state.engine = engine or create_engine(
            settings.database_url or "", pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow, pre_ping=settings.db_pre_ping, application_name="liandong-api")
        app.state.sessionmaker = create_sessionmaker(app.state.engine)
        app.state.session_scope = partial(transaction, app.state.sessionmaker)
        own_pool = intake_pool is None
        if own_pool:
            app.state.intake_pool = await create_raw_pool(settings.database_url or "",
                                                          max_size=settings.db_pool_size,
                                                          application_name="liandong-api-intake")
        yield
        if own_pool:
            await app.state.intake_pool.close()
        if own_engine:
            await app.state.engine.dispose()

    app = FastAPI(title="Liandong 联动 API", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.clock = clock or SystemClock()
    if engine is not None:  # usable without running the lifespan (tests with ASGITransport)
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        app.state.session_scope = partial(transaction, app.state.sessionmaker)
    if intake_pool is not None:
        app.state.intake_pool = intake_pool
    install_error_handlers(app)
    upload_limit = settings.upload_max_bytes * settings.upload_max_files + 1024 * 1024  # the files and the form

    def limit_for(method: str, path: str) -> int:
        uploads = (method == "POST" and path == "/api/v1/active-cases") or path.endswith("/attachments")
        return upload_limit if uploads else settings.max_body_bytes

    app.add_middleware(BodyLimitMiddleware, limit_for=limit_for)
    app.add_middleware(RequestMiddleware)  # outermost: the request id in every line, latency, access line
    # The district webhook first: it takes the most traffic and route matching is in order.
    for module in (district, auth, org, categories, cases, ledger, reminders, policies, active_cases, stats,
                   assessments, records, audit):
        # Every route behind a token documents the common errors; the webhook and login document their own.
        app.include_router(module.router, responses=None if module in (district, auth) else COMMON_ERRORS)
    attach_ops(app, "api")
    return app
