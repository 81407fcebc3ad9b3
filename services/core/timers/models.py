"""Policies, timers, reminders, the outbox and operators' call tasks (SPEC §3)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

# Tables this one points at must be known to the metadata whenever this module is.
from services.core.cases import models as _cases  # noqa: F401
from services.core.db import Base


class EscalationPolicy(Base):
    """A version of the acceptance or handling policy; exactly one version of a kind is active."""

    __tablename__ = "escalation_policy"
    __table_args__ = (
        UniqueConstraint("kind", "version", name="uq_escalation_policy_kind_version"),
        Index("uq_escalation_policy_active_kind", "kind", unique=True, postgresql_where=text("active")),
    )
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean)
    nodes: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    quiet_hours: Mapped[dict[str, str] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime]
    created_by: Mapped[int | None] = mapped_column(ForeignKey("person.id"))


class CaseTimer(Base):
    """One node of a case's chain, planned in the transaction of the move that started the chain.

    Cancelling is lazy: a move bumps ``passive_case.timer_generation``; a timer of an older
    generation is skipped when it comes due (the move never waits on a timer row's lock).
    """

    __tablename__ = "case_timer"
    __table_args__ = (
        UniqueConstraint("case_id", "generation", "node_key", name="uq_case_timer_case_generation_node"),
        Index("ix_case_timer_pending_due", "due_at", postgresql_where=text("state = 'pending'")),
    )
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    # no index of its own: the unique (case_id, generation, node_key) index serves lookups by case
    case_id: Mapped[int] = mapped_column(ForeignKey("passive_case.id", ondelete="CASCADE"))
    generation: Mapped[int] = mapped_column(Integer)
    node_key: Mapped[str] = mapped_column(String(40))
    policy_id: Mapped[int] = mapped_column(ForeignKey("escalation_policy.id"))
    due_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(12), default="pending", server_default="pending")
    fired_at: Mapped[datetime | None]
    skip_reason: Mapped[str | None] = mapped_column(String(100))


class Reminder(Base):
    """提醒登记: every reminder of a case, automatic (a fired node) or logged by an operator."""

    __tablename__ = "reminder"
    __table_args__ = (Index("ix_reminder_case_id_id", "case_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("passive_case.id", ondelete="CASCADE"))
    timer_id: Mapped[int | None] = mapped_column(ForeignKey("case_timer.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(12))  # auto | manual
    node_key: Mapped[str | None] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(100))
    channels: Mapped[list[str]] = mapped_column(JSONB)
    recipients: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    outcome: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text)
    logged_by: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    occurred_at: Mapped[datetime]


class OperatorTask(Base):
    """A call the policy asks an operator to make (电话提醒 / 提请督办), on their to-do list; or an
    alert about a message that failed or whose fate is unknown (then keyed by that outbox message)."""

    __tablename__ = "operator_task"
    __table_args__ = (
        UniqueConstraint("reminder_id", "operator_id", name="uq_operator_task_reminder_operator"),
        Index("uq_operator_task_outbox_operator", "outbox_id", "operator_id", unique=True,
              postgresql_where=text("outbox_id IS NOT NULL")),
        Index("ix_operator_task_open", "operator_id", "due_at", postgresql_where=text("done_at IS NULL")),
    )
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("passive_case.id", ondelete="CASCADE"))
    # A policy's call task: its reminder. An alert: the outbox message it is about (and no reminder, so
    # an alert is never swallowed by the node's own call task).
    reminder_id: Mapped[int | None] = mapped_column(ForeignKey("reminder.id"))
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"))
    operator_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    label: Mapped[str] = mapped_column(String(100))
    call_person_ids: Mapped[list[int]] = mapped_column(JSONB)
    due_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    done_reminder_id: Mapped[int | None] = mapped_column(ForeignKey("reminder.id"))
