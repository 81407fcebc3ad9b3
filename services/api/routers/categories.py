"""The 部件/事件 category taxonomy."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, status

from services.api.deps import PrincipalDep, SessionDep
from services.api.schemas import CategoryIn, CategoryOut, CategoryPatch, Id
from services.core.categories import service

router = APIRouter(prefix="/api/v1/categories", tags=["categories"])


@router.get("", response_model=list[CategoryOut])
async def list_categories(session: SessionDep, principal: PrincipalDep,
                          kind: Literal["component", "event"] | None = None,
                          include_inactive: bool = False) -> list[CategoryOut]:
    rows = await service.list_categories(session, kind=kind, include_inactive=include_inactive)
    return [CategoryOut.model_validate(c) for c in rows]


@router.post("", response_model=CategoryOut, status_code=status.HTTP_201_CREATED)
async def create_category(body: CategoryIn, session: SessionDep, principal: PrincipalDep) -> CategoryOut:
    c = await service.create_category(session, principal, code=body.code, name=body.name, kind=body.kind,
                                      parent_code=body.parent_code)
    return CategoryOut.model_validate(c)


@router.patch("/{category_id}", response_model=CategoryOut)
async def update_category(category_id: Id, body: CategoryPatch, session: SessionDep,
                          principal: PrincipalDep) -> CategoryOut:
    c = await service.update_category(session, principal, category_id, name=body.name, active=body.active)
    return CategoryOut.model_validate(c)
