"""All SQL of the passive-case domain (cases, their events, the district inbox)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.cases.models import CaseEvent, DistrictEvent, PassiveCase
from services.core.cases.rules import CaseStatus
from services.core.categories.models import Category
from services.core.org.models import Community, Person


def overdue_expr(now: datetime) -> Any:
    """SQL twin of ``rules.is_overdue``: handled late, or unhandled past the deadline."""
    return case(
        (PassiveCase.status == CaseStatus.recalled.value, False),
        (PassiveCase.handled_at.is_not(None), PassiveCase.handled_at > PassiveCase.deadline_at),
        else_=PassiveCase.deadline_at < now,
    )


class CaseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, case_id: int, *, for_update: bool = False) -> PassiveCase | None:
        stmt = select(PassiveCase).where(PassiveCase.id == case_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def get_by_district_id(self, district_case_id: str, *, for_update: bool = False
                                 ) -> PassiveCase | None:
        stmt = select(PassiveCase).where(PassiveCase.district_case_id == district_case_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def add_events(self, rows: Sequence[dict[str, Any]]) -> None:
        await self.session.execute(insert(CaseEvent), list(rows))

    async def add_event(self, row: dict[str, Any]) -> int:
        return int((await self.session.execute(insert(CaseEvent).values(**row).returning(CaseEvent.id))).scalar_one())

    async def events(self, case_id: int) -> Sequence[CaseEvent]:
        stmt = select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
        return (await self.session.execute(stmt)).scalars().all()

    # --- district inbox -------------------------------------------------------------------
    async def claim_district_event(self, values: dict[str, Any]) -> bool:
        """Record a delivery; False when its ``event_id`` was seen before (waits for a concurrent twin)."""
        stmt = (insert(DistrictEvent).values(**values)
                .on_conflict_do_nothing(index_elements=[DistrictEvent.event_id])
                .returning(DistrictEvent.event_id))
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def district_event(self, event_id: str) -> DistrictEvent | None:
        return await self.session.get(DistrictEvent, event_id)

    async def finish_district_event(self, event_id: str, *, case_id: int | None, status: int,
                                    response: dict[str, Any]) -> dict[str, Any]:
        """Store the answer; returns it as stored (jsonb orders keys), so a replay matches it."""
        stmt = (update(DistrictEvent).where(DistrictEvent.event_id == event_id)
                .values(case_id=case_id, response_status=status, response=response)
                .returning(DistrictEvent.response))
        stored: dict[str, Any] = (await self.session.execute(stmt)).scalar_one()
        return stored

    async def community_id_by_code(self, code: str) -> int | None:
        stmt = select(Community.id).where(Community.code == code, Community.active.is_(True))
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def category_id_by_code(self, code: str) -> int | None:
        stmt = select(Category.id).where(Category.code == code)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    # --- lists and the ledger ----------------------------------------------------------------
    def ledger_select(self, now: datetime) -> Select[Any]:
        responsible = Person.__table__.alias("responsible")
        return (
            select(
                PassiveCase,
                Community.name.label("community_name"),
                responsible.c.name.label("responsible_person_name"),
                Category.name.label("category_name"),
                overdue_expr(now).label("is_overdue"),
            )
            .outerjoin(Community, Community.id == PassiveCase.community_id)
            .outerjoin(responsible, responsible.c.id == PassiveCase.responsible_person_id)
            .outerjoin(Category, Category.id == PassiveCase.category_id)
        )

    async def page(self, stmt: Select[Any], *, order_by: Sequence[Any], limit: int, offset: int
                   ) -> tuple[int, bool, Sequence[Any]]:
        """A page, and the total: exact up to ``COUNT_CAP`` matches, else that cap and False (counting a
        community's hundreds of thousands of cases for a page of 50 is what made the ledger slow)."""
        capped = stmt.order_by(None).limit(COUNT_CAP + 1).subquery()
        total = (await self.session.execute(select(func.count()).select_from(capped))).scalar_one()
        rows = (await self.session.execute(stmt.order_by(*order_by).limit(limit).offset(offset))).all()
        return min(total, COUNT_CAP), total <= COUNT_CAP, rows

    async def all_rows(self, stmt: Select[Any], *, order_by: Sequence[Any], cap: int) -> Sequence[Any]:
        return (await self.session.execute(stmt.order_by(*order_by).limit(cap))).all()


COUNT_CAP = 10_000  # a ledger total beyond this is reported as "10,000 or more"


def scope_filter(street_wide: bool, community_ids: frozenset[int], person_id: int,
                 include_unassigned: bool) -> Any:
    """SQL twin of ``Principal.can_see_case``."""
    if street_wide:
        return and_(True)
    conds: list[Any] = [PassiveCase.responsible_person_id == person_id]
    if community_ids:
        conds.append(PassiveCase.community_id.in_(community_ids))
    if include_unassigned:
        conds.append(PassiveCase.community_id.is_(None))
    return or_(*conds)
