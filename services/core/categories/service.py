"""The 部件/事件 taxonomy: read by everyone, edited by the platform's administrators."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from services.core.categories.models import Category
from services.core.categories.repository import CategoryRepository
from services.core.errors import Conflict, InvalidInput, NotFound
from services.core.org.scope import Principal
from services.core.org.service import require_org_admin
from services.core.patching import set_given


async def list_categories(session: AsyncSession, *, kind: str | None, include_inactive: bool
                          ) -> Sequence[Category]:
    return await CategoryRepository(session).list(kind=kind, include_inactive=include_inactive)


async def create_category(session: AsyncSession, principal: Principal, *, code: str, name: str, kind: str,
                          parent_code: str | None) -> Category:
    """A major category (no parent) or a minor one under a major of the same kind."""
    require_org_admin(principal)
    repo = CategoryRepository(session)
    if await repo.by_code(code) is not None:
        raise Conflict(f"category code {code!r} is taken", code="code_taken")
    parent = None
    if parent_code is not None:
        parent = await repo.by_code(parent_code)
        if parent is None or parent.level != 1:
            raise InvalidInput("parent_code", f"{parent_code!r} is not a major category")
        if parent.kind != kind:
            raise InvalidInput("kind", f"must match the parent's kind {parent.kind!r}")
    category = Category(code=code, name=name, kind=kind, parent_id=parent.id if parent else None,
                        level=2 if parent else 1)
    await repo.add(category)
    return category


async def update_category(session: AsyncSession, principal: Principal, category_id: int, *,
                          name: str | None, active: bool | None) -> Category:
    """Rename or (de)activate; categories are never deleted so old cases keep their names."""
    require_org_admin(principal)
    category = await CategoryRepository(session).get(category_id)
    if category is None:
        raise NotFound(f"category {category_id} not found", code="category_not_found")
    set_given(category, name=name, active=active)
    await session.flush()
    return category
