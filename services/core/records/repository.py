"""All SQL of records, their revisions, inspections and their problems."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.paging import count_and_page
from services.core.records.models import Inspection, InspectionProblem, Record, RecordRevision


class RecordRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: Record | RecordRevision | Inspection | InspectionProblem) -> None:
        self.session.add(row)
        await self.session.flush()

    async def record(self, record_id: int, *, for_update: bool = False) -> Record | None:
        stmt = select(Record).where(Record.id == record_id)
        return (await self.session.execute(stmt.with_for_update() if for_update else stmt)).scalar_one_or_none()

    async def revisions(self, record_id: int) -> Sequence[RecordRevision]:
        stmt = select(RecordRevision).where(RecordRevision.record_id == record_id).order_by(RecordRevision.id)
        return (await self.session.execute(stmt)).scalars().all()

    async def records(self, *, community_ids: Sequence[int] | None, filters: dict[str, Any], limit: int,
                      offset: int) -> tuple[int, Sequence[Record]]:
        stmt = select(Record)
        if community_ids is not None:
            stmt = stmt.where(Record.community_id.in_(list(community_ids)))
        for column in ("community_id", "kind"):
            if filters.get(column) is not None:
                stmt = stmt.where(getattr(Record, column) == filters[column])
        if filters.get("from") is not None:
            stmt = stmt.where(Record.occurred_on >= filters["from"])
        if filters.get("to") is not None:
            stmt = stmt.where(Record.occurred_on < filters["to"])
        return await count_and_page(self.session, stmt, Record.occurred_on.desc(), Record.id.desc(),
                                    limit=limit, offset=offset)

    async def dates(self, community_id: int, kind: str, start: date, end: date) -> list[tuple[date, dict[str, Any]]]:
        rows = await self.session.execute(select(Record.occurred_on, Record.details).where(
            Record.community_id == community_id, Record.kind == kind, Record.occurred_on >= start,
            Record.occurred_on < end).order_by(Record.occurred_on))
        return [(r.occurred_on, r.details) for r in rows]

    async def latest(self, community_id: int, kind: str) -> Sequence[Record]:
        stmt = (select(Record).where(Record.community_id == community_id, Record.kind == kind)
                .order_by(Record.occurred_on.desc(), Record.id.desc()).limit(20))
        return (await self.session.execute(stmt)).scalars().all()

    async def inspection(self, inspection_id: int) -> Inspection | None:
        return await self.session.get(Inspection, inspection_id)

    async def inspections(self, *, community_ids: Sequence[int] | None, community_id: int | None,
                          start: date | None, end: date | None) -> Sequence[Inspection]:
        stmt = select(Inspection)
        if community_ids is not None:
            stmt = stmt.where(Inspection.community_id.in_(list(community_ids))
                              | Inspection.inspecting_community_id.in_(list(community_ids)))
        if community_id is not None:
            stmt = stmt.where(Inspection.community_id == community_id)
        if start is not None:
            stmt = stmt.where(Inspection.inspected_on >= start)
        if end is not None:
            stmt = stmt.where(Inspection.inspected_on < end)
        return (await self.session.execute(stmt.order_by(Inspection.inspected_on.desc(), Inspection.id.desc())
                                           .limit(500))).scalars().all()

    async def problems(self, inspection_ids: Sequence[int]) -> Sequence[InspectionProblem]:
        stmt = (select(InspectionProblem).where(InspectionProblem.inspection_id.in_(list(inspection_ids)))
                .order_by(InspectionProblem.id))
        return (await self.session.execute(stmt)).scalars().all()

    async def problem(self, problem_id: int, *, for_update: bool = False) -> InspectionProblem | None:
        stmt = select(InspectionProblem).where(InspectionProblem.id == problem_id)
        return (await self.session.execute(stmt.with_for_update() if for_update else stmt)).scalar_one_or_none()

    async def overdue_problems(self, today: date, community_id: int | None = None,
                               inspected: tuple[date, date] | None = None) -> Sequence[Any]:
        """Problems past their deadline and not closed by ``today`` (closed later still counts as overdue
        then), with the inspected community; ``inspected``: only those of inspections in ``[start, end)``."""
        not_closed = InspectionProblem.closed_at.is_(None) | (func.date(func.timezone("Asia/Shanghai",
                                                                                      InspectionProblem.closed_at))
                                                              > today)
        stmt = (select(InspectionProblem, Inspection.community_id)
                .join(Inspection, Inspection.id == InspectionProblem.inspection_id)
                .where(not_closed, InspectionProblem.deadline_on < today))
        if community_id is not None:
            stmt = stmt.where(Inspection.community_id == community_id)
        if inspected is not None:
            stmt = stmt.where(Inspection.inspected_on >= inspected[0], Inspection.inspected_on < inspected[1])
        return (await self.session.execute(stmt.order_by(InspectionProblem.deadline_on))).all()

    async def operator_problems(self, start: date, end: date) -> list[tuple[int, int | None, int]]:
        """(inspection, grid, category) of operators' inspections in ``[start, end)`` (督查 flags)."""
        rows = await self.session.execute(
            select(InspectionProblem.inspection_id, InspectionProblem.grid_id, InspectionProblem.category_id)
            .join(Inspection, Inspection.id == InspectionProblem.inspection_id)
            .where(Inspection.kind == "operator", Inspection.inspected_on >= start, Inspection.inspected_on < end))
        return [(r[0], r[1], r[2]) for r in rows]
