"""All SQL of the quarterly assessment's inputs and records."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.assessment.models import AssessmentQuarter, ConductFinding, MonthlyPay
from services.core.org.models import Community, Grid, Person, PersonRole


class AssessmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def put_pay(self, rows: Sequence[dict[str, Any]]) -> None:
        stmt = insert(MonthlyPay).values(list(rows))
        await self.session.execute(stmt.on_conflict_do_update(
            constraint="uq_monthly_pay_person_month",
            set_={"paid_fen": stmt.excluded.paid_fen, "quality_score": stmt.excluded.quality_score,
                  "entered_by": stmt.excluded.entered_by, "entered_at": stmt.excluded.entered_at}))

    async def pay(self, months: Sequence[str]) -> Sequence[MonthlyPay]:
        stmt = select(MonthlyPay).where(MonthlyPay.month.in_(list(months)))
        return (await self.session.execute(stmt)).scalars().all()

    async def add_conduct(self, finding: ConductFinding) -> None:
        self.session.add(finding)
        await self.session.flush()

    async def conduct(self, quarter: str) -> Sequence[ConductFinding]:
        return (await self.session.execute(select(ConductFinding).where(ConductFinding.quarter == quarter)
                                           .order_by(ConductFinding.id))).scalars().all()

    async def quarter(self, quarter: str, *, for_update: bool = False) -> AssessmentQuarter | None:
        stmt = select(AssessmentQuarter).where(AssessmentQuarter.quarter == quarter)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def add_quarter(self, row: AssessmentQuarter) -> AssessmentQuarter:
        self.session.add(row)
        await self.session.flush()
        return row

    async def holders(self, role: str) -> list[tuple[int, str]]:
        """Active people holding ``role``, by id."""
        rows = await self.session.execute(
            select(Person.id, Person.name).join(PersonRole, PersonRole.person_id == Person.id)
            .where(PersonRole.role == role, Person.active.is_(True)).distinct().order_by(Person.id))
        return [(r.id, r.name) for r in rows]

    async def grids(self) -> Sequence[Grid]:
        return (await self.session.execute(select(Grid))).scalars().all()

    async def community_ids(self) -> list[int]:
        rows = await self.session.execute(select(Community.id).where(Community.active.is_(True)).order_by(Community.id))
        return [r for (r,) in rows]

    async def grid_workers(self, ids: Sequence[int]) -> set[int]:
        rows = await self.session.execute(select(PersonRole.person_id).where(
            PersonRole.role == "grid_worker", PersonRole.person_id.in_(list(ids))))
        return {r for (r,) in rows}
