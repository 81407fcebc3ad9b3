"""One page of a list and the total it is a page of, for the lists that count exactly (active cases,
records); the ledger caps its count instead (``CaseRepository.page``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession


async def count_and_page(session: AsyncSession, stmt: Select[Any], *order_by: Any, limit: int,
                         offset: int) -> tuple[int, Sequence[Any]]:
    """The number of rows ``stmt`` selects, and those from ``offset`` to ``offset + limit`` in ``order_by``."""
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    rows = (await session.execute(stmt.order_by(*order_by).limit(limit).offset(offset))).scalars().all()
    return int(total), rows
