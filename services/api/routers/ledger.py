"""被动案件信息台帐: the ledger as JSON pages and as an .xlsx download."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from services.api.deps import ClockDep, PrincipalDep, SessionDep
from services.api.schemas import MAX_ID, Id, LedgerItemOut, LedgerPageOut, QueryText
from services.core.cases.ledger import LedgerFilter, LedgerRow, ledger_page, ledger_xlsx
from services.core.cases.rules import CaseStatus
from services.core.clock import SHANGHAI

router = APIRouter(prefix="/api/v1", tags=["ledger"])


async def _filter(community_id: Id | None = None,
            status: Annotated[list[CaseStatus] | None, Query()] = None,
            received_from: datetime | None = None, received_to: datetime | None = None,
            category_code: QueryText | None = None, overdue: bool | None = None, closed: bool | None = None,
            sort: Annotated[str, Query(max_length=200)] = "-received_at") -> LedgerFilter:
    return LedgerFilter(community_id=community_id, status=tuple(status or ()),
                        received_from=_aware(received_from), received_to=_aware(received_to),
                        category_code=category_code, overdue=overdue, closed=closed, sort=sort)


def _aware(value: datetime | None) -> datetime | None:
    """A date-time without an offset is read as Beijing time, as users type it."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=SHANGHAI)
    return value


FilterDep = Annotated[LedgerFilter, Depends(_filter)]


def _item(row: LedgerRow) -> LedgerItemOut:
    c = row.case
    return LedgerItemOut(
        case_id=c.id, district_case_id=c.district_case_id, title=c.title, source=c.source,
        status=CaseStatus(c.status), community_id=c.community_id, community_name=row.community_name,
        responsible_person_id=c.responsible_person_id, responsible_person_name=row.responsible_person_name,
        received_at=c.received_at, accepted_at=c.accepted_at, deadline_at=c.deadline_at,
        category_code=c.category_code, category_name=row.category_name, complexity=c.complexity,
        extension_requested=c.extension_requested_at is not None, reminder_count=c.reminder_count,
        progress_note=c.progress_note, is_overdue=row.is_overdue, is_closed=c.status == CaseStatus.closed,
    )


@router.get("/ledger", response_model=LedgerPageOut, summary="The passive-case ledger (台帐), paged")
@router.get("/cases", response_model=LedgerPageOut, summary="Passive cases in your scope, paged",
            include_in_schema=True)
async def ledger(session: SessionDep, principal: PrincipalDep, clock: ClockDep, f: FilterDep,
                 limit: Annotated[int, Query(ge=1, le=500)] = 50,
                 offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0) -> LedgerPageOut:
    total, exact, rows = await ledger_page(session, principal, f, now=clock.now(), limit=limit, offset=offset)
    return LedgerPageOut(total=total, total_is_exact=exact, limit=limit, offset=offset,
                         items=[_item(r) for r in rows])


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/ledger.xlsx", summary="The ledger as an Excel workbook (Chinese headers)",
            response_class=Response, responses={200: {"content": {XLSX: {}}}})
async def ledger_workbook(session: SessionDep, principal: PrincipalDep, clock: ClockDep,
                          f: FilterDep) -> Response:
    now = clock.now()
    content = await ledger_xlsx(session, principal, f, now=now)
    name = f"ledger-{now.astimezone(SHANGHAI):%Y%m%d-%H%M}.xlsx"
    return Response(content, media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
