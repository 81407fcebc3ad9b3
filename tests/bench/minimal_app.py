"""The baseline: a minimal FastAPI endpoint that validates a similar body and inserts one row (asyncpg)."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg
from fastapi import FastAPI
from pydantic import AwareDatetime, BaseModel

from services.core.db import plain_url


class CaseBody(BaseModel):
    district_case_id: str
    source: str
    title: str
    description: str | None = None
    category_code: str | None = None
    address: str | None = None
    location: dict[str, float] | None = None
    deadline_at: AwareDatetime
    complexity: str | None = None
    community_code: str | None = None
    attachments: list[dict[str, Any]] | None = None


class EventBody(BaseModel):
    event_id: str
    type: str
    occurred_at: datetime
    case: CaseBody


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.pool = await asyncpg.create_pool(plain_url(os.environ["BENCH_DATABASE_URL"]), min_size=10,
                                               max_size=20)
    yield
    await app.state.pool.close()


app = FastAPI(lifespan=lifespan)


@app.post("/events", status_code=201)
async def events(body: EventBody) -> dict[str, Any]:
    async with app.state.pool.acquire() as conn:
        await conn.execute("INSERT INTO bench_event (event_id, payload) VALUES ($1, $2)", body.event_id,
                           json.dumps(body.case.model_dump(mode="json")))
    return {"event_id": body.event_id, "duplicate": False}
