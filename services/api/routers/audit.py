"""The audit log (操作日志), read-only: supervisors see every write made through the API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import func, select

from services.api.deps import PrincipalDep, SessionDep
from services.api.schemas import MAX_ID, Id, QueryText
from services.core.audit.models import AuditEntry
from services.core.errors import Forbidden
from services.core.org.roles import SUPERVISOR_ROLES, Role

router = APIRouter(prefix="/api/v1", tags=["audit"])
READERS = SUPERVISOR_ROLES | {Role.department_head, Role.admin}


@router.get("/audit-log", summary="Every write made through the API: who, what, when, before and after")
async def audit_log(session: SessionDep, principal: PrincipalDep, entity: QueryText | None = None,
                    entity_id: QueryText | None = None, actor_id: Id | None = None, since: datetime | None = None,
                    limit: Annotated[int, Query(ge=1, le=500)] = 100,
                    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0) -> dict[str, Any]:
    if not principal.roles & READERS:
        raise Forbidden("the audit log is for supervisors", code="role_not_allowed")
    stmt = select(AuditEntry)
    if entity is not None:
        stmt = stmt.where(AuditEntry.entity == entity)
    if entity_id is not None:
        stmt = stmt.where(AuditEntry.entity_id == entity_id)
    if actor_id is not None:
        stmt = stmt.where(AuditEntry.actor_id == actor_id)
    if since is not None:
        stmt = stmt.where(AuditEntry.at >= since)
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    rows = (await session.execute(stmt.order_by(AuditEntry.id.desc()).limit(limit).offset(offset))).scalars().all()
    return {"total": total, "limit": limit, "offset": offset, "items": [
        {"id": r.id, "at": r.at, "actor_id": r.actor_id, "request": r.request, "entity": r.entity,
         "entity_id": r.entity_id, "action": r.action, "before": r.before, "after": r.after} for r in rows]}
