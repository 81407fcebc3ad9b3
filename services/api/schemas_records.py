"""Request and response bodies of records and materials (资料完善): registers, inspections."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.api.schemas import Id, Orm, StorableIn
from services.api.schemas_active import PhotoOut

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"\S")]


class RecordIn(StorableIn):
    model_config = ConfigDict(extra="forbid")
    community_id: Id | None = None
    kind: Literal["patrol", "patrol_team", "joint_meeting", "enforcement_evaluation", "summary", "public_info",
                  "app_promotion"]
    occurred_on: date
    title: Title
    body: str | None = Field(default=None, max_length=20000)
    details: dict[str, Any] = Field(default_factory=dict)


class RecordPatchIn(StorableIn):
    model_config = ConfigDict(extra="forbid")
    occurred_on: date | None = None
    title: Title | None = None
    body: str | None = Field(default=None, max_length=20000)
    details: dict[str, Any] | None = None


class RecordOut(Orm):
    id: int
    community_id: int
    kind: str
    occurred_on: date
    title: str
    body: str | None
    details: dict[str, Any]
    author_id: int
    created_at: datetime
    updated_at: datetime
    attachments: list[PhotoOut] = Field(default_factory=list)


class RecordPageOut(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[RecordOut]


class RevisionOut(Orm):
    id: int
    action: str
    by_id: int
    at: datetime
    before: dict[str, Any] | None
    after: dict[str, Any]


class ProblemIn(StorableIn):
    model_config = ConfigDict(extra="forbid")
    grid_id: Id | None = None
    category_code: str = Field(max_length=32)
    description: str = Field(min_length=1, max_length=2000)
    owner_id: Id
    deadline_on: date


class InspectionIn(StorableIn):
    model_config = ConfigDict(extra="forbid")
    community_id: Id
    kind: Literal["operator", "mutual"] = "operator"
    inspecting_community_id: Id | None = None
    inspected_on: date
    summary: str = Field(min_length=1, max_length=10000)
    tasks: list[Annotated[str, StringConstraints(max_length=500)]] = Field(default_factory=list, max_length=100)
    problems: list[ProblemIn] = Field(default_factory=list, max_length=200)


class ProblemOut(Orm):
    id: int
    grid_id: int | None
    category_id: int
    description: str
    owner_id: int
    deadline_on: date
    follow_up: list[dict[str, Any]]
    closed_at: datetime | None
    closed_by: int | None


class InspectionOut(Orm):
    id: int
    community_id: int
    kind: str
    inspecting_community_id: int | None
    inspected_on: date
    inspector_id: int
    summary: str
    tasks: list[str]
    problems: list[ProblemOut] = Field(default_factory=list)


class FollowUpIn(StorableIn):
    note: str = Field(min_length=1, max_length=2000)
    close: bool = False
