"""季考核 奖惩兑现: pay and quality entries, conduct findings, the fund, compute, publish, reopen, the notice."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import Response

from services.api.deps import ClockDep, PrincipalDep, SessionDep, SettingsDep
from services.api.schemas_assessment import AssessmentOut, ConductIn, FundIn, PayIn, ReopenIn
from services.core.assessment import service
from services.core.assessment.config import assessment_config, materials_config
from services.core.assessment.workbook import notice_workbook

router = APIRouter(prefix="/api/v1/assessments", tags=["assessment"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Quarter = Annotated[str, Path(pattern=r"^\d{4}-Q[1-4]$", description="2026-Q4")]
Month = Annotated[str, Path(pattern=r"^\d{4}-\d{2}$", description="2026-12")]


@router.put("/pay/{month}", summary="The month's performance pay actually paid and quality scores, per grid worker")
async def put_pay(month: Month, body: PayIn, session: SessionDep, principal: PrincipalDep,
                  clock: ClockDep) -> dict[str, int]:
    n = await service.enter_pay(session, principal, month, [r.model_dump() for r in body.rows], now=clock.now())
    return {"saved": n}


@router.post("/{quarter}/conduct", status_code=201, summary="Record a conduct problem (行风效能问题): a one-veto")
async def conduct(quarter: Quarter, body: ConductIn, session: SessionDep, principal: PrincipalDep,
                  clock: ClockDep) -> dict[str, bool]:
    await service.record_conduct(session, principal, quarter, body.person_id, body.reason, now=clock.now())
    return {"recorded": True}


@router.put("/{quarter}/fund", response_model=AssessmentOut, summary="The quarter's reward fund (以奖代补资金)")
async def fund(quarter: Quarter, body: FundIn, session: SessionDep, principal: PrincipalDep,
               clock: ClockDep) -> AssessmentOut:
    return AssessmentOut.model_validate(await service.set_fund(session, principal, quarter, body.fund_fen,
                                                               now=clock.now()))


@router.post("/{quarter}/compute", response_model=AssessmentOut, summary="Compute (or recompute) the draft")
async def compute(quarter: Quarter, session: SessionDep, principal: PrincipalDep, clock: ClockDep,
                  settings: SettingsDep) -> AssessmentOut:
    return AssessmentOut.model_validate(await service.compute(session, principal, quarter, now=clock.now(),
                                                              cfg=assessment_config(settings),
                                                              materials=materials_config(settings)))


@router.post("/{quarter}/publish", response_model=AssessmentOut, summary="Publish: the record is frozen")
async def publish(quarter: Quarter, session: SessionDep, principal: PrincipalDep, clock: ClockDep) -> AssessmentOut:
    return AssessmentOut.model_validate(await service.publish(session, principal, quarter, now=clock.now()))


@router.post("/{quarter}/reopen", response_model=AssessmentOut, summary="Reopen a published quarter (audited)")
async def reopen(quarter: Quarter, body: ReopenIn, session: SessionDep, principal: PrincipalDep,
                 clock: ClockDep) -> AssessmentOut:
    return AssessmentOut.model_validate(await service.reopen(session, principal, quarter, body.reason,
                                                             now=clock.now()))


@router.get("/{quarter}", response_model=AssessmentOut)
async def get(quarter: Quarter, session: SessionDep, principal: PrincipalDep) -> AssessmentOut:
    row, view = await service.get(session, principal, quarter)
    out = AssessmentOut.model_validate(row)
    out.result = view  # a copy of the record as this person may see it; the record itself is untouched
    return out


@router.get("/{quarter}/notice.xlsx", response_class=Response, responses={200: {"content": {XLSX: {}}}},
            summary="季度考核通报 and 奖励分配 as a workbook")
async def notice(quarter: Quarter, session: SessionDep, principal: PrincipalDep) -> Response:
    row, view = await service.get(session, principal, quarter)
    return Response(notice_workbook(row, view), media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="assessment-{quarter}.xlsx"'})
