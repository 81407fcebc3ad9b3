"""被动案件信息台帐: the passive-case ledger, filtered, sorted, paged, and as an .xlsx workbook."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.cases.district_contract import COMPLEXITY_LABELS, SOURCE_LABELS
from services.core.cases.models import PassiveCase
from services.core.cases.repository import CaseRepository, overdue_expr, scope_filter
from services.core.cases.rules import STATUS_LABELS, CaseStatus
from services.core.clock import SHANGHAI
from services.core.errors import InvalidInput, NotFound
from services.core.org.scope import Principal
from services.core.xlsx import append_row, new_sheet, to_bytes

SORTABLE = {
    "received_at": PassiveCase.received_at, "deadline_at": PassiveCase.deadline_at,
    "accepted_at": PassiveCase.accepted_at, "dispatched_at": PassiveCase.dispatched_at,
    "updated_at": PassiveCase.updated_at, "reminder_count": PassiveCase.reminder_count,
    "id": PassiveCase.id,
}
NOT_NULL = frozenset({"received_at", "deadline_at", "updated_at", "reminder_count", "id"})
XLSX_ROW_CAP = 50_000


@dataclass(frozen=True)
class LedgerFilter:
    community_id: int | None = None
    status: Sequence[CaseStatus] = ()
    received_from: datetime | None = None
    received_to: datetime | None = None
    category_code: str | None = None
    overdue: bool | None = None
    closed: bool | None = None
    sort: str = "-received_at"


@dataclass(frozen=True)
class LedgerRow:
    case: PassiveCase
    community_name: str | None
    responsible_person_name: str | None
    category_name: str | None
    is_overdue: bool


def _order_by(sort: str) -> list[Any]:
    keys: list[Any] = []
    for part in sort.split(","):
        name = part.strip().lstrip("-")
        if name not in SORTABLE:
            raise InvalidInput("sort", f"unknown sort key {name!r}; one of {sorted(SORTABLE)}")
        col = SORTABLE[name]
        descending = part.strip().startswith("-")
        if name in NOT_NULL:  # plain order: it is the order of the indexes (NULLS LAST on DESC is not)
            keys.append(col.desc() if descending else col.asc())
        else:
            keys.append(col.desc().nulls_last() if descending else col.asc().nulls_last())
    keys.append(PassiveCase.id.desc())  # a stable order across pages
    return keys


def _statement(repo: CaseRepository, principal: Principal, f: LedgerFilter, now: datetime) -> Any:
    if f.community_id is not None and not principal.street_wide \
            and f.community_id not in principal.visible_community_ids():
        raise NotFound(f"community {f.community_id} not found", code="community_not_found")
    stmt = repo.ledger_select(now).where(scope_filter(
        principal.street_wide, principal.visible_community_ids(), principal.person_id,
        include_unassigned=principal.is_operator))
    if f.community_id is not None:
        stmt = stmt.where(PassiveCase.community_id == f.community_id)
    if f.status:
        stmt = stmt.where(PassiveCase.status.in_([s.value for s in f.status]))
    if f.received_from is not None:
        stmt = stmt.where(PassiveCase.received_at >= f.received_from)
    if f.received_to is not None:
        stmt = stmt.where(PassiveCase.received_at < f.received_to)
    if f.category_code is not None:
        stmt = stmt.where(PassiveCase.category_code == f.category_code)
    if f.overdue is not None:
        stmt = stmt.where(overdue_expr(now) if f.overdue else ~overdue_expr(now))
    if f.closed is not None:
        closed = PassiveCase.status == CaseStatus.closed.value
        stmt = stmt.where(closed if f.closed else ~closed)
    return stmt


def _rows(raw: Sequence[Any]) -> list[LedgerRow]:
    return [LedgerRow(r[0], r.community_name, r.responsible_person_name, r.category_name, bool(r.is_overdue))
            for r in raw]


async def ledger_page(session: AsyncSession, principal: Principal, f: LedgerFilter, *, now: datetime,
                      limit: int, offset: int) -> tuple[int, bool, list[LedgerRow]]:
    """One page of the ledger in the principal's scope, and the total matching."""
    repo = CaseRepository(session)
    total, exact, raw = await repo.page(_statement(repo, principal, f, now), order_by=_order_by(f.sort),
                                        limit=limit, offset=offset)
    return total, exact, _rows(raw)


HEADERS = ["案件编号", "区平台案件号", "案件来源", "标题", "属地社区", "责任人", "接单时间", "办理期限",
           "涉及类别", "疑难复杂程度", "是否申请延期", "提醒次数", "进展情况（情况说明）", "状态",
           "是否超期", "是否结案", "接收时间", "分派时间"]


WIDTHS = [10, 18, 10, 30, 14, 10, 17, 17, 14, 12, 12, 9, 40, 10, 9, 9, 17, 17]


def _local(value: datetime | None) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if value else ""


def _yes_no(flag: bool) -> str:
    return "是" if flag else "否"


async def ledger_xlsx(session: AsyncSession, principal: Principal, f: LedgerFilter, *,
                      now: datetime) -> bytes:
    """The ledger as a workbook with the regulation's Chinese column names (times in Beijing time)."""
    repo = CaseRepository(session)
    raw = await repo.all_rows(_statement(repo, principal, f, now), order_by=_order_by(f.sort),
                              cap=XLSX_ROW_CAP)
    wb = Workbook()
    ws = new_sheet(wb, "被动案件信息台帐", HEADERS, WIDTHS, first=True)
    for row in _rows(raw):
        c = row.case
        append_row(ws, [
            c.id, c.district_case_id, SOURCE_LABELS.get(c.source, c.source), c.title,
            row.community_name or "", row.responsible_person_name or "", _local(c.accepted_at),
            _local(c.deadline_at), row.category_name or c.category_code or "",
            COMPLEXITY_LABELS.get(c.complexity, c.complexity),
            _yes_no(c.extension_requested_at is not None), c.reminder_count, c.progress_note or "",
            STATUS_LABELS[CaseStatus(c.status)], _yes_no(row.is_overdue),
            _yes_no(c.status == CaseStatus.closed.value), _local(c.received_at), _local(c.dispatched_at),
        ])
    return to_bytes(wb)
