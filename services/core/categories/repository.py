"""All SQL of the category taxonomy."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.categories.models import Category


class CategoryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list(self, *, kind: str | None, include_inactive: bool) -> Sequence[Category]:
        stmt = select(Category).order_by(Category.code)
        if kind is not None:
            stmt = stmt.where(Category.kind == kind)
        if not include_inactive:
            stmt = stmt.where(Category.active.is_(True))
        return (await self.session.execute(stmt)).scalars().all()

    async def by_code(self, code: str) -> Category | None:
        stmt = select(Category).where(Category.code == code)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def get(self, category_id: int) -> Category | None:
        return await self.session.get(Category, category_id)

    async def add(self, category: Category) -> None:
        self.session.add(category)
        await self.session.flush()
