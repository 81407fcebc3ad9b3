"""Active cases (主动案件): grid workers report (with photos), operators audit, everyone in scope reads."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile, status
from fastapi.responses import Response
from pydantic import WithJsonSchema

from services.api.deps import ClockDep, PrincipalDep, SessionDep, SettingsDep
from services.api.errors import error_responses
from services.api.schemas import MAX_ID, Id
from services.api.schemas_active import ActiveCaseOut, ActiveCasePageOut, AuditIn, PhotoOut
from services.api.uploads import limits, read_uploads
from services.core.active import service
from services.core.active.models import ActiveCase
from services.core.active.rules import AuditStatus
from services.core.errors import Forbidden, InvalidInput
from services.core.files.access import visible_attachment
from services.core.files.attachments import DOCUMENT_TYPES, read
from services.core.files.stores import build_file_store

router = APIRouter(prefix="/api/v1", tags=["active cases"])

# Documented as numbers: pydantic would also document "any string", which it then refuses.
LAT = {"anyOf": [{"type": "number", "minimum": -90, "maximum": 90}, {"type": "null"}]}
LNG = {"anyOf": [{"type": "number", "minimum": -180, "maximum": 180}, {"type": "null"}]}


def out(case: ActiveCase, photos: list[PhotoOut] | None = None) -> ActiveCaseOut:
    result = ActiveCaseOut.model_validate(case)
    result.photos = photos or []
    return result


@router.post("/active-cases", response_model=ActiveCaseOut, status_code=status.HTTP_201_CREATED,
             summary="Report an active case (multipart: fields and photos)", responses=error_responses(503))
async def report(session: SessionDep, principal: PrincipalDep, clock: ClockDep, settings: SettingsDep,
                 category_code: Annotated[str, Form(min_length=1, max_length=32)],
                 description: Annotated[str, Form(min_length=1, max_length=4000)],
                 grid_id: Annotated[Id | None, Form()] = None,
                 address: Annotated[str | None, Form(max_length=200)] = None,
                 lat: Annotated[Decimal | None, Form(ge=-90, le=90), WithJsonSchema(LAT)] = None,
                 lng: Annotated[Decimal | None, Form(ge=-180, le=180), WithJsonSchema(LNG)] = None,
                 self_handled: Annotated[bool, Form()] = False,
                 photos_before: Annotated[list[UploadFile] | None, File()] = None,
                 photos_after: Annotated[list[UploadFile] | None, File()] = None) -> ActiveCaseOut:
    """A grid worker's report in their own grid (``grid_id`` may be left out by someone with one grid).
    自发自处: ``self_handled=true`` with at least one photo before and one after; it is handled at once."""
    lim = limits(settings)
    uploads = [*await read_uploads(photos_before or [], "photos_before", "before", lim.max_photo_bytes, lim.max_photos),
               *await read_uploads(photos_after or [], "photos_after", "after", lim.max_photo_bytes, lim.max_photos)]
    grids = await service.ActiveCaseRepository(session).grids_of_worker(principal.person_id)
    if not grids:
        raise Forbidden("reporting active cases is for grid workers (网格员) in their grids", code="not_your_grid")
    if grid_id is None:
        if len(grids) != 1:
            raise InvalidInput("grid_id", "say which of your grids", code="field_required")
        grid_id = grids[0].id
    case = await service.report(session, principal, service.NewActiveCase(
        grid_id, category_code, description, address, lat, lng, self_handled), uploads, build_file_store(settings),
        now=clock.now(), limits=lim)
    photos = await service.photos_of(session, principal, case.id)
    return out(case, [PhotoOut.model_validate(p) for p in photos])


@router.get("/active-cases", response_model=ActiveCasePageOut)
async def list_cases(session: SessionDep, principal: PrincipalDep,
                     community_id: Id | None = None, grid_id: Id | None = None, reporter_id: Id | None = None,
                     category_id: Id | None = None,
                     audit_status: Annotated[AuditStatus | None, Query()] = None,
                     self_handled: bool | None = None,
                     reported_from: datetime | None = None, reported_to: datetime | None = None,
                     limit: Annotated[int, Query(ge=1, le=500)] = 50,
                     offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0) -> ActiveCasePageOut:
    filters: dict[str, object] = {"community_id": community_id, "grid_id": grid_id, "reporter_id": reporter_id,
               "category_id": category_id, "audit_status": audit_status.value if audit_status else None,
               "self_handled": self_handled, "reported_from": reported_from, "reported_to": reported_to}
    total, rows = await service.search(session, principal, filters, limit=limit, offset=offset)
    return ActiveCasePageOut(total=total, limit=limit, offset=offset, items=[out(r) for r in rows])


@router.get("/active-cases/{case_id}", response_model=ActiveCaseOut)
async def get_case(case_id: Id, session: SessionDep, principal: PrincipalDep) -> ActiveCaseOut:
    case = await service.get_visible(session, principal, case_id)
    photos = await service.photos_of(session, principal, case_id)
    return out(case, [PhotoOut.model_validate(p) for p in photos])


@router.post("/active-cases/{case_id}/audit", response_model=ActiveCaseOut, summary="审核: valid, invalid or false")
async def audit(case_id: Id, body: AuditIn, session: SessionDep, principal: PrincipalDep, clock: ClockDep,
                settings: SettingsDep) -> ActiveCaseOut:
    case = await service.audit(session, principal, case_id, AuditStatus(body.result), body.note, now=clock.now(),
                               limits=limits(settings))
    return out(case)


@router.post("/active-cases/{case_id}/handle", response_model=ActiveCaseOut,
             summary="Mark a valid case handled (one that was not self-handled)")
async def handle(case_id: Id, session: SessionDep, principal: PrincipalDep, clock: ClockDep) -> ActiveCaseOut:
    return out(await service.handle(session, principal, case_id, now=clock.now()))


@router.get("/attachments/{attachment_id}", summary="A photo or document, to those who may see what it belongs to",
            response_class=Response, responses={200: {"content": {t: {} for t in sorted(DOCUMENT_TYPES)}},
                                                **error_responses(503)})
async def attachment(attachment_id: Id, session: SessionDep, principal: PrincipalDep,
                     settings: SettingsDep) -> Response:
    found = await visible_attachment(session, principal, attachment_id)
    return Response(await read(build_file_store(settings), found.storage_key), media_type=found.content_type,
                    headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"})
