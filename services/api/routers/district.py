"""The district platform's webhook (区平台推送). The contract is fixed; see README."""

from __future__ import annotations

import logging
from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from services.api.errors import ErrorOut, error_responses
from services.api.schemas import DistrictResultOut
from services.core.cases.district import ingest_created, ingest_event
from services.core.cases.district_contract import event_json_schema, parse_event, verify_signature
from services.core.clock import Clock
from services.core.config import Settings
from services.core.logs import request_id

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/district", tags=["district"])


@router.post(
    "/events", summary="Receive a signed district event",
    responses={200: {"model": DistrictResultOut, "description": "Known case, or a redelivered event"},
               201: {"model": DistrictResultOut, "description": "A new case"},
               401: {"model": ErrorOut, "description": "Bad signature or timestamp (`signature_invalid`, …)"},
               **error_responses(404, 409, 413, 422, 503)},
    # The body is read raw (the signature covers its bytes), so it is documented here, not by a model.
    openapi_extra={
        "parameters": [
            {"name": "X-Liandong-Timestamp", "in": "header", "required": True,
             "description": "Unix seconds; within the replay window of now", "schema": {"type": "string"}},
            {"name": "X-Liandong-Signature", "in": "header", "required": True,
             "description": "Lowercase hex HMAC-SHA256 of `{timestamp}.{raw body}` with the shared secret",
             "schema": {"type": "string"}}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": event_json_schema()}}},
    },
)
async def district_event(request: Request) -> JSONResponse:
    # No dependencies: this is the hottest endpoint, and a request session that new cases do not
    # use cost a quarter of its throughput (measured). Clock, settings, the pool and the
    # transaction come from app.state.
    clock: Clock = request.app.state.clock
    settings: Settings = request.app.state.settings
    raw = await request.body()
    now = clock.now()
    verify_signature(settings.district_secret, request.headers.get("x-liandong-timestamp"),
                     request.headers.get("x-liandong-signature"), raw, now=now,
                     window_seconds=settings.district_replay_window_seconds)
    event = parse_event(raw)
    if event.created is not None:  # the bulk of the traffic: one SQL statement
        async with request.app.state.intake_pool.acquire() as conn:
            result = await ingest_created(conn, event, raw, now=now,
                                          auto_dispatch=settings.auto_dispatch_district_cases,
                                          trace_id=request_id.get())  # the case's trace id: this request's
    else:  # updates, urges and recalls move an existing case: one ORM transaction
        async with request.app.state.session_scope() as session:
            result = await ingest_event(session, event, raw, now=now,
                                        auto_dispatch=settings.auto_dispatch_district_cases,
                                        acceptance_limit=timedelta(minutes=settings.acceptance_timeout_minutes))
    headers = {"X-Liandong-Replayed": "true"} if result.replayed else None
    # The line that ties the case to this request id (a new case keeps it as its trace id, and the
    # escalator and notifier log their lines about the case under it).
    log.info("district %s", event.type, extra={"event_id": event.event_id, "case_id": result.body.get("case_id"),
                                                "http_status": result.http_status})
    return JSONResponse(result.body, status_code=result.http_status, headers=headers)
