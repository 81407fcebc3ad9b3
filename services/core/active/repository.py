"""All SQL of active cases and their photos."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.active.models import ActiveCase
from services.core.org.models import Grid
from services.core.paging import count_and_page

# Degrees of latitude per metre; longitude degrees shrink with cos(latitude), applied in SQL.
_DEG_PER_M = 1 / 111_320


class ActiveCaseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def grid(self, grid_id: int) -> Grid | None:
        return await self.session.get(Grid, grid_id)

    async def grids_of_worker(self, person_id: int) -> Sequence[Grid]:
        return (await self.session.execute(
            select(Grid).where(Grid.grid_worker_id == person_id).order_by(Grid.id))).scalars().all()

    async def add(self, case: ActiveCase) -> ActiveCase:
        self.session.add(case)
        await self.session.flush()
        return case

    async def get(self, case_id: int, *, for_update: bool = False) -> ActiveCase | None:
        stmt = select(ActiveCase).where(ActiveCase.id == case_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def nearby_duplicate(self, category_id: int, since: datetime, lat: Decimal | None, lng: Decimal | None,
                               grid_id: int, address: str | None, radius_m: float) -> int | None:
        """The closest earlier case of the same category in the window, within ``radius_m`` (or, without
        coordinates, at the same address of the same grid); never one found invalid or false."""
        base = (select(ActiveCase.id).where(ActiveCase.category_id == category_id, ActiveCase.reported_at >= since,
                                            ActiveCase.audit_status.in_(("pending", "valid"))))
        if lat is not None and lng is not None:
            dlat = Decimal(radius_m * _DEG_PER_M)
            scale = func.cos(func.radians(float(lat)))
            dist = func.sqrt(func.power((ActiveCase.lat - lat) / _DEG_PER_M, 2)
                             + func.power((ActiveCase.lng - lng) * scale / _DEG_PER_M, 2))
            stmt: Select[Any] = (base.where(ActiveCase.lat.between(lat - dlat, lat + dlat),
                                            ActiveCase.lng.isnot(None), dist <= radius_m)
                                 .order_by(dist, ActiveCase.id.desc()).limit(1))
        elif address:
            stmt = (base.where(ActiveCase.grid_id == grid_id, ActiveCase.address == address)
                    .order_by(ActiveCase.id.desc()).limit(1))
        else:
            return None
        found = (await self.session.execute(stmt)).scalar_one_or_none()
        return int(found) if found is not None else None

    async def search(self, *, community_ids: Sequence[int] | None, reporter_id: int | None,
                     filters: dict[str, Any], limit: int, offset: int) -> tuple[int, Sequence[ActiveCase]]:
        """A page of cases; ``community_ids`` None: every community. ``reporter_id`` adds "or mine"."""
        stmt = select(ActiveCase)
        if community_ids is not None:
            visible = ActiveCase.community_id.in_(list(community_ids))
            stmt = stmt.where(visible | (ActiveCase.reporter_id == reporter_id) if reporter_id else visible)
        for column in ("community_id", "grid_id", "reporter_id", "category_id", "audit_status", "self_handled"):
            if filters.get(column) is not None:
                stmt = stmt.where(getattr(ActiveCase, column) == filters[column])
        if filters.get("reported_from") is not None:
            stmt = stmt.where(ActiveCase.reported_at >= filters["reported_from"])
        if filters.get("reported_to") is not None:
            stmt = stmt.where(ActiveCase.reported_at < filters["reported_to"])
        return await count_and_page(self.session, stmt, ActiveCase.reported_at.desc(), ActiveCase.id.desc(),
                                    limit=limit, offset=offset)
