"""资料完善: the communities' registers (with attachments and an audit trail), inspections and their
rectifications, and each community's compliance; with workbooks of each register and the dossier."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, File, Query, UploadFile, status
from fastapi.responses import Response

from services.api.deps import ClockDep, PrincipalDep, SessionDep, SettingsDep
from services.api.errors import error_responses
from services.api.schemas import MAX_ID, Id
from services.api.schemas_active import PhotoOut
from services.api.schemas_records import (
    FollowUpIn,
    InspectionIn,
    InspectionOut,
    ProblemOut,
    RecordIn,
    RecordOut,
    RecordPageOut,
    RecordPatchIn,
    RevisionOut,
)
from services.api.uploads import limits, read_uploads
from services.core.assessment.config import materials_config
from services.core.files import attachments
from services.core.files.stores import build_file_store
from services.core.records import service
from services.core.records.models import Record
from services.core.records.repository import RecordRepository
from services.core.records.rules import RecordKind
from services.core.records.workbook import dossier_workbook, register_workbook
from services.core.stats import periods

router = APIRouter(prefix="/api/v1", tags=["records"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
OWNER = "record"


async def _out(session: SessionDep, record: Record) -> RecordOut:
    out = RecordOut.model_validate(record)
    out.attachments = [PhotoOut.model_validate(a) for a in await attachments.of(session, OWNER, [record.id])]
    return out


@router.post("/records", response_model=RecordOut, status_code=status.HTTP_201_CREATED,
             summary="Add to your community's registers (巡查, 联席会议, 执法力量评价, 总结, 公开信息, 金凤e家)")
async def create(body: RecordIn, session: SessionDep, principal: PrincipalDep, clock: ClockDep) -> RecordOut:
    record = await service.create_record(session, principal, community_id=body.community_id,
                                         kind=RecordKind(body.kind), occurred_on=body.occurred_on,
                                         title=body.title, body=body.body, details=body.details, now=clock.now())
    return await _out(session, record)


@router.get("/records", response_model=RecordPageOut)
async def list_records(session: SessionDep, principal: PrincipalDep, community_id: Id | None = None,
                       kind: RecordKind | None = None, occurred_from: date | None = None,
                       occurred_to: date | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 50,
                       offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0) -> RecordPageOut:
    total, rows = await RecordRepository(session).records(
        community_ids=service.readable_communities(principal),
        filters={"community_id": community_id, "kind": kind.value if kind else None, "from": occurred_from,
                 "to": occurred_to}, limit=limit, offset=offset)
    return RecordPageOut(total=total, limit=limit, offset=offset, items=[RecordOut.model_validate(r) for r in rows])


@router.get("/records.xlsx", response_class=Response, responses={200: {"content": {XLSX: {}}}},
            summary="A register as a workbook (Chinese headers)")
async def records_xlsx(session: SessionDep, principal: PrincipalDep, kind: RecordKind,
                       community_id: Id | None = None) -> Response:
    _, rows = await RecordRepository(session).records(
        community_ids=service.readable_communities(principal),
        filters={"community_id": community_id, "kind": kind.value}, limit=10_000, offset=0)
    return Response(register_workbook(kind, rows), media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{kind.value}.xlsx"'})


@router.get("/records/{record_id}", response_model=RecordOut)
async def get_record(record_id: Id, session: SessionDep, principal: PrincipalDep) -> RecordOut:
    return await _out(session, await service.visible_record(session, principal, record_id))


@router.patch("/records/{record_id}", response_model=RecordOut, summary="Correct a record (kept in its history)")
async def patch_record(record_id: Id, body: RecordPatchIn, session: SessionDep, principal: PrincipalDep,
                       clock: ClockDep) -> RecordOut:
    record = await service.update_record(session, principal, record_id, body.model_dump(exclude_none=True),
                                         now=clock.now())
    return await _out(session, record)


@router.get("/records/{record_id}/revisions", response_model=list[RevisionOut], summary="The record's audit trail")
async def revisions(record_id: Id, session: SessionDep, principal: PrincipalDep) -> list[RevisionOut]:
    await service.visible_record(session, principal, record_id)
    return [RevisionOut.model_validate(r) for r in await RecordRepository(session).revisions(record_id)]


@router.post("/records/{record_id}/attachments", response_model=RecordOut,
             summary="Photos or PDF documents of a record (notice, minutes, forms)", responses=error_responses(503))
async def add_attachments(record_id: Id, session: SessionDep, principal: PrincipalDep, clock: ClockDep,
                          settings: SettingsDep, files: Annotated[list[UploadFile], File(min_length=1)]) -> RecordOut:
    record = await service.writable_record(session, principal, record_id)
    lim = limits(settings)
    uploads = await read_uploads(files, "files", "document", lim.max_photo_bytes, lim.max_photos)
    await attachments.store_all(session, build_file_store(settings), OWNER, record.id, uploads, by=principal.person_id,
                                now=clock.now(), max_bytes=lim.max_photo_bytes, max_files=lim.max_photos,
                                allow_documents=True)
    return await _out(session, record)


@router.post("/inspections", response_model=InspectionOut, status_code=status.HTTP_201_CREATED,
             summary="督查 of a linked community (operators) or 互查 by another community, with its problems")
async def create_inspection(body: InspectionIn, session: SessionDep, principal: PrincipalDep,
                            clock: ClockDep) -> InspectionOut:
    inspection = await service.create_inspection(
        session, principal, community_id=body.community_id, kind=body.kind,
        inspecting_community_id=body.inspecting_community_id, inspected_on=body.inspected_on, summary=body.summary,
        tasks=body.tasks, problems=[p.model_dump() for p in body.problems], now=clock.now())
    out = InspectionOut.model_validate(inspection)
    out.problems = [ProblemOut.model_validate(p) for p in await RecordRepository(session).problems([inspection.id])]
    return out


@router.get("/inspections", response_model=list[InspectionOut])
async def list_inspections(session: SessionDep, principal: PrincipalDep, community_id: Id | None = None,
                           inspected_from: date | None = None, inspected_to: date | None = None
                           ) -> list[InspectionOut]:
    repo = RecordRepository(session)
    rows = await repo.inspections(community_ids=service.readable_communities(principal), community_id=community_id,
                                  start=inspected_from, end=inspected_to)
    problems = service.problems_by_inspection(await repo.problems([r.id for r in rows]))
    out = []
    for r in rows:
        item = InspectionOut.model_validate(r)
        item.problems = [ProblemOut.model_validate(p) for p in problems.get(r.id, [])]
        out.append(item)
    return out


@router.post("/inspection-problems/{problem_id}/follow-up", response_model=ProblemOut,
             summary="整改 follow-up; the inspecting side may close it")
async def problem_follow_up(problem_id: Id, body: FollowUpIn, session: SessionDep, principal: PrincipalDep,
                            clock: ClockDep) -> ProblemOut:
    return ProblemOut.model_validate(await service.follow_up(session, principal, problem_id, body.note, body.close,
                                                             now=clock.now()))


@router.get("/compliance", summary="A community's compliance in a quarter, and its materials score")
async def compliance(session: SessionDep, principal: PrincipalDep, clock: ClockDep, settings: SettingsDep,
                     community_id: Id, quarter: Annotated[str, Query(pattern=r"^\d{4}-Q[1-4]$")]) -> dict[str, Any]:
    service.readable_community(principal, community_id)
    return await service.compliance_of(session, community_id, quarter, now=clock.now(),
                                       cfg=materials_config(settings))


@router.get("/compliance/dossier.xlsx", response_class=Response, responses={200: {"content": {XLSX: {}}}},
            summary="The quarterly materials dossier: one sheet per register, and the compliance summary")
async def dossier(session: SessionDep, principal: PrincipalDep, clock: ClockDep, settings: SettingsDep,
                  community_id: Id, quarter: Annotated[str, Query(pattern=r"^\d{4}-Q[1-4]$")]) -> Response:
    service.readable_community(principal, community_id)
    summary = await service.compliance_of(session, community_id, quarter, now=clock.now(),
                                          cfg=materials_config(settings))
    q = periods.quarter(quarter)
    _, rows = await RecordRepository(session).records(
        community_ids=[community_id], filters={"from": q.start.date(), "to": q.end.date()}, limit=10_000, offset=0)
    inspections = await RecordRepository(session).inspections(community_ids=None, community_id=community_id,
                                                              start=q.start.date(), end=q.end.date())
    problems = await RecordRepository(session).problems([i.id for i in inspections])
    return Response(dossier_workbook(summary, rows, inspections, problems), media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="dossier-{community_id}-{quarter}.xlsx"'})
