"""The district platform's webhook (区平台推送). The contract is fixed; see README."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from services.api.deps import ClockDep, SessionDep, SettingsDep
from services.api.schemas import DistrictResultOut
from services.core.cases.district import ingest_event
from services.core.cases.district_contract import parse_event, verify_signature

router = APIRouter(prefix="/api/v1/district", tags=["district"])


@router.post(
    "/events", summary="Receive a signed district event",
    responses={200: {"model": DistrictResultOut, "description": "Known case, or a redelivered event"},
               201: {"model": DistrictResultOut, "description": "A new case"},
               401: {"description": "Bad signature or timestamp"}, 422: {"description": "Invalid body"}},
)
async def district_event(request: Request, session: SessionDep, clock: ClockDep,
                         settings: SettingsDep) -> JSONResponse:
    raw = await request.body()
    now = clock.now()
    verify_signature(settings.district_secret, request.headers.get("x-liandong-timestamp"),
                     request.headers.get("x-liandong-signature"), raw, now=now,
                     window_seconds=settings.district_replay_window_seconds)
    event, payload = parse_event(raw)
    result = await ingest_event(session, event, payload, now=now,
                                auto_dispatch=settings.auto_dispatch_district_cases,
                                acceptance_limit=timedelta(minutes=settings.acceptance_timeout_minutes))
    headers = {"X-Liandong-Replayed": "true"} if result.replayed else None
    return JSONResponse(result.body, status_code=result.http_status, headers=headers)
