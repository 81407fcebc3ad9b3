"""Request and response bodies of active cases (主动案件) and their photos."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from services.api.schemas import Orm, StorableIn


class PhotoOut(Orm):
    id: int
    stage: str
    content_type: str
    size: int
    original_name: str | None
    uploaded_at: datetime


class ActiveCaseOut(Orm):
    id: int
    community_id: int
    grid_id: int
    reporter_id: int
    category_id: int
    description: str
    address: str | None
    lat: Decimal | None
    lng: Decimal | None
    reported_at: datetime
    self_handled: bool
    handled_at: datetime | None
    deadline_at: datetime | None
    audit_status: str
    audited_by: int | None
    audited_at: datetime | None
    audit_note: str | None
    possible_duplicate_of: int | None
    photos: list[PhotoOut] = Field(default_factory=list)


class ActiveCasePageOut(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[ActiveCaseOut]


class AuditIn(StorableIn):
    result: Literal["valid", "invalid", "false"]
    note: str | None = Field(default=None, max_length=2000)
