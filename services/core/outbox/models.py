"""The outbox: every message to the outside world, each delivery attempt, and senders' send log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.core.db import Base

# Tables this one points at must be known to the metadata whenever this module is.
from services.core.timers import models as _timers  # noqa: F401


class OutboxMessage(Base):
    """A message the notifier must deliver, at least once; ``idem_key`` makes each one unique."""

    __tablename__ = "outbox"
    # The claim's two halves, each served by its own small partial index (joined by a BitmapOr):
    # messages ready to go (or to be looked up), and messages whose holder's lease ran out.
    __table_args__ = (
        Index("ix_outbox_ready", "next_attempt_at", postgresql_where=text("state IN ('pending', 'checking')")),
        Index("ix_outbox_leased", "lease_until", postgresql_where=text("state IN ('sending', 'looking_up')")),
    )
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    idem_key: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(20))
    recipient: Mapped[dict[str, Any]] = mapped_column(JSONB)
    message: Mapped[dict[str, Any]] = mapped_column(JSONB)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("passive_case.id", ondelete="SET NULL"), index=True)
    reminder_id: Mapped[int | None] = mapped_column(ForeignKey("reminder.id"))
    # pending → sending → sent | pending (retry) | dead; an ambiguous send: checking → looking_up →
    # sent | pending | unknown (a person decides)
    state: Mapped[str] = mapped_column(String(12), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    # Its case's trace id, else the id of the request that queued it: the notifier logs under it.
    trace_id: Mapped[str | None] = mapped_column(String(64))


class DeliveryAttempt(Base):
    """One try at delivering an outbox message: what was asked, what came back, how long it took."""

    __tablename__ = "delivery_attempt"
    __table_args__ = (Index("ix_delivery_attempt_outbox_id", "outbox_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(16))
    code: Mapped[str | None] = mapped_column(String(60))
    provider_ref: Mapped[str | None] = mapped_column(String(100))
    request_summary: Mapped[str] = mapped_column(String(300))
    response: Mapped[dict[str, Any]] = mapped_column(JSONB)
    latency_ms: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]


class SendLog(Base):
    """Each send counted against a sender's limit (a sliding window shared by all notifier replicas)."""

    __tablename__ = "send_log"
    __table_args__ = (Index("ix_send_log_key_sent_at", "rate_key", "sent_at"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    rate_key: Mapped[str] = mapped_column(String(80))
    sent_at: Mapped[datetime]


class SenderPause(Base):
    """A sender told us to wait (e.g. WeCom 45009): nothing goes to it before ``until``."""

    __tablename__ = "sender_pause"
    rate_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    until: Mapped[datetime]
