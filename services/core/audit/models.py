"""The audit log: every write a person makes through the API, append-only (a trigger refuses changes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.core.db import Base


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_entity", "entity", "entity_id", "id"),
        Index("ix_audit_log_actor", "actor_id", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    request: Mapped[str | None] = mapped_column(String(200))  # "PATCH /api/v1/records/12"
    entity: Mapped[str] = mapped_column(String(64))  # the table
    entity_id: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))  # insert | update | delete | bulk_update | bulk_delete
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
