"""Passive cases (被动案件), their event log and the district event inbox."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.core.cases.district_contract import COMPLEXITIES, SOURCES
from services.core.cases.rules import CaseStatus

# Tables this one points at must be known to the metadata whenever this module is.
from services.core.categories import models as _categories  # noqa: F401
from services.core.db import Base
from services.core.org import models as _org  # noqa: F401


def _one_of(column: str, values: tuple[str, ...] | list[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class PassiveCase(Base):
    """A case pushed by the district platform; one row is one line of the ledger (台帐)."""

    __tablename__ = "passive_case"
    __table_args__ = (
        Index("ix_passive_case_community_received", "community_id", "received_at"),
        Index("ix_passive_case_community_deadline", "community_id", "deadline_at"),  # the ledger by deadline
        Index("ix_passive_case_status_deadline", "status", "deadline_at"),
        Index("ix_passive_case_received_at", "received_at"),
        Index("ix_passive_case_responsible_person_id", "responsible_person_id"),
        # A community's ledger by 提醒次数, in the order of its pages (id breaks the many ties).
        Index("ix_passive_case_community_reminders", "community_id", "reminder_count", "id"),
        # The statistics of a day or a month read only the cases whose moments fall in it.
        Index("ix_passive_case_deadline_at", "deadline_at"),
        Index("ix_passive_case_dispatched_at", "dispatched_at", postgresql_where=text("dispatched_at IS NOT NULL")),
        Index("ix_passive_case_accepted_at", "accepted_at", postgresql_where=text("accepted_at IS NOT NULL")),
        Index("ix_passive_case_closed_at", "closed_at", postgresql_where=text("closed_at IS NOT NULL")),
        CheckConstraint(_one_of("status", [s.value for s in CaseStatus]), name="status_valid"),
        CheckConstraint(_one_of("source", SOURCES), name="source_valid"),
        CheckConstraint(_one_of("complexity", COMPLEXITIES), name="complexity_valid"),
    )
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    district_case_id: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    category_code: Mapped[str | None] = mapped_column(String(32))
    # Not indexed: categories are never deleted and the ledger filters by code; one index fewer
    # to write on every new case.
    category_id: Mapped[int | None] = mapped_column(ForeignKey("category.id"))
    address: Mapped[str | None] = mapped_column(String(300))
    lat: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    lng: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list, server_default="[]")
    complexity: Mapped[str] = mapped_column(String(20), default="normal", server_default="normal")
    district_community_code: Mapped[str | None] = mapped_column(String(32))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"))
    responsible_person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    status: Mapped[str] = mapped_column(String(32))

    deadline_at: Mapped[datetime]  # 办理期限, moved by a granted extension
    original_deadline_at: Mapped[datetime]
    received_at: Mapped[datetime]
    dispatched_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    extension_requested_at: Mapped[datetime | None]
    extension_requested_deadline_at: Mapped[datetime | None]
    extension_reason: Mapped[str | None] = mapped_column(Text)
    extension_granted_at: Mapped[datetime | None]
    extension_denied_at: Mapped[datetime | None]
    returned_at: Mapped[datetime | None]
    return_reason: Mapped[str | None] = mapped_column(Text)
    handled_at: Mapped[datetime | None]
    replied_at: Mapped[datetime | None]
    reply_text: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None]
    reopened_at: Mapped[datetime | None]
    recalled_at: Mapped[datetime | None]

    dispatch_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    extension_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reopen_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reminder_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # 接单超时: accepted later than the acceptance limit after the (last) dispatch.
    acceptance_timed_out: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    progress_note: Mapped[str | None] = mapped_column(Text)  # 进展情况 (情况说明)
    # Bumped by every move that starts or stops a reminder chain; older timers skip themselves.
    timer_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_at: Mapped[datetime]
    # The request id of the api request that created the case (the district's X-Request-ID when it
    # sent one): its outbox rows carry it, so the escalator's and notifier's lines about the case do.
    trace_id: Mapped[str | None] = mapped_column(String(64))


class CaseEvent(Base):
    """Append-only audit trail of a case: who did what, when, from which status to which."""

    __tablename__ = "case_event"
    __table_args__ = (Index("ix_case_event_case_id_id", "case_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("passive_case.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str | None] = mapped_column(String(32))
    actor_kind: Mapped[str] = mapped_column(String(16))  # person | district | system
    actor_person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    occurred_at: Mapped[datetime]


class DistrictEvent(Base):
    """Inbox of district webhook deliveries, keyed by ``event_id`` so a redelivery changes nothing."""

    __tablename__ = "district_event"
    event_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(server_default=func.now())
    district_case_id: Mapped[str | None] = mapped_column(String(64))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("passive_case.id"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    response_status: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSONB)
