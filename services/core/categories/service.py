"""The 部件/事件 taxonomy: read by everyone, edited by the platform's administrators."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.categories.models import Category
from services.core.errors import Conflict, InvalidInput, NotFound
from services.core.org.scope import Principal
from services.core.org.service import require_org_admin

KINDS = {"component": "部件", "event": "事件"}


async def list_categories(session: AsyncSession, *, kind: str | None, include_inactive: bool
                          ) -> Sequence[Category]:
    stmt = select(Category).order_by(Category.code)
    if kind is not None:
        stmt = stmt.where(Category.kind == kind)
    if not include_inactive:
        stmt = stmt.where(Category.active.is_(True))
    return (await session.execute(stmt)).scalars().all()


async def create_category(session: AsyncSession, principal: Principal, *, code: str, name: str, kind: str,
                          parent_code: str | None) -> Category:
    """A major category (no parent) or a minor one under a major of the same kind."""
    require_org_admin(principal)
    if (await session.execute(select(Category.id).where(Category.code == code))).first():
        raise Conflict(f"category code {code!r} is taken", code="code_taken")
    parent = None
    if parent_code is not None:
        parent = (await session.execute(select(Category).where(Category.code == parent_code))).scalar_one_or_none()
        if parent is None or parent.level != 1:
            raise InvalidInput("parent_code", f"{parent_code!r} is not a major category")
        if parent.kind != kind:
            raise InvalidInput("kind", f"must match the parent's kind {parent.kind!r}")
    category = Category(code=code, name=name, kind=kind, parent_id=parent.id if parent else None,
                        level=2 if parent else 1)
    session.add(category)
    await session.flush()
    return category


async def update_category(session: AsyncSession, principal: Principal, category_id: int, *,
                          name: str | None, active: bool | None) -> Category:
    require_org_admin(principal)
    category = await session.get(Category, category_id)
    if category is None:
        raise NotFound(f"category {category_id} not found", code="category_not_found")
    if name is not None:
        category.name = name
    if active is not None:
        category.active = active
    await session.flush()
    return category
