"""日统计 月通报: daily statistics and the monthly bulletin, as JSON and as workbooks."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from services.api.deps import ClockDep, PrincipalDep, SessionDep, SettingsDep
from services.core.stats import periods
from services.core.stats import service as stats
from services.core.stats.workbook import bulletin_workbook, daily_workbook

router = APIRouter(prefix="/api/v1/stats", tags=["statistics"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DateQ = Annotated[str, Query(description="a Beijing calendar date, 2026-12-04")]
MonthQ = Annotated[str, Query(description="a month, 2026-12")]


def _download(content: bytes, name: str) -> Response:
    return Response(content, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'})


async def _daily(date: DateQ, session: SessionDep, principal: PrincipalDep, clock: ClockDep,
                 settings: SettingsDep) -> dict[str, Any]:
    return await stats.figures(session, principal, periods.day(date), now=clock.now(),
                               acceptance_limit=timedelta(minutes=settings.acceptance_timeout_minutes))


async def _monthly(month: MonthQ, session: SessionDep, principal: PrincipalDep, clock: ClockDep,
                   settings: SettingsDep) -> dict[str, Any]:
    return await stats.bulletin(session, principal, periods.month(month), now=clock.now(),
                                acceptance_limit=timedelta(minutes=settings.acceptance_timeout_minutes))


Daily = Annotated[dict[str, Any], Depends(_daily)]
Monthly = Annotated[dict[str, Any], Depends(_monthly)]


@router.get("/daily", summary="日统计: per community and grid worker, in your scope")
async def daily(data: Daily) -> dict[str, Any]:
    return data


@router.get("/daily.xlsx", response_class=Response, responses={200: {"content": {XLSX: {}}}})
async def daily_xlsx(data: Daily) -> Response:
    return _download(daily_workbook(data), f"daily-{data['period']}.xlsx")


@router.get("/monthly", summary="月通报: the month per community and grid worker, beside the month before")
async def monthly(data: Monthly) -> dict[str, Any]:
    return data


@router.get("/monthly.xlsx", response_class=Response, responses={200: {"content": {XLSX: {}}}})
async def monthly_xlsx(data: Monthly) -> Response:
    return _download(bulletin_workbook(data), f"bulletin-{data['period']}.xlsx")
