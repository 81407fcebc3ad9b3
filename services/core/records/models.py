"""Records and materials (资料完善, SPEC §6): what each community records, and operators' inspections."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.core.db import Base


class Record(Base):
    """One entry of a community's registers: a patrol (巡查), a joint meeting (联席会议), an evaluation of
    the law-enforcement forces (下沉执法力量评价), a summary (总结), posted public information (公开信息) or
    the "金凤e家" promotion figures. ``details`` holds what the kind needs (attendees, minutes, figures)."""

    __tablename__ = "record"
    __table_args__ = (Index("ix_record_community_kind_date", "community_id", "kind", "occurred_on"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"))
    kind: Mapped[str] = mapped_column(String(32))
    occurred_on: Mapped[date] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    author_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class RecordRevision(Base):
    """The audit trail of a record: who changed what, when, with the values before and after."""

    __tablename__ = "record_revision"
    __table_args__ = (Index("ix_record_revision_record", "record_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("record.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(16))  # create | update
    by_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    at: Mapped[datetime]
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any]] = mapped_column(JSONB)


class Inspection(Base):
    """督查 by an operator of a linked community, or 互查 by another community: its problem list follows."""

    __tablename__ = "inspection"
    __table_args__ = (Index("ix_inspection_community_date", "community_id", "inspected_on"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"))  # the one inspected
    kind: Mapped[str] = mapped_column(String(16))  # operator | mutual
    inspecting_community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"))  # 互查: who inspected
    inspected_on: Mapped[date] = mapped_column(Date)
    inspector_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    summary: Mapped[str] = mapped_column(Text)
    tasks: Mapped[list[str]] = mapped_column(JSONB, default=list, server_default="[]")  # 互查 task list
    created_at: Mapped[datetime]


class InspectionProblem(Base):
    """A problem an inspection found, with its rectification (整改): deadline, owner, follow-up to closed."""

    __tablename__ = "inspection_problem"
    __table_args__ = (
        Index("ix_inspection_problem_inspection", "inspection_id"),
        Index("ix_inspection_problem_open_deadline", "deadline_on", postgresql_where=text("closed_at IS NULL")),
    )
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspection.id", ondelete="CASCADE"))
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grid.id"))
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id"))
    description: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    deadline_on: Mapped[date] = mapped_column(Date)
    follow_up: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list, server_default="[]")
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
