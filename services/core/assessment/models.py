"""What the quarterly assessment needs from people, and the frozen record it produces."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.core.db import Base


class MonthlyPay(Base):
    """Per grid worker and month: the performance pay the district actually paid (以金凤区绩效考核实际
    发放金额为准) and the quality score the sub-center staff gave (案件质量, 0–20)."""

    __tablename__ = "monthly_pay"
    __table_args__ = (UniqueConstraint("person_id", "month", name="uq_monthly_pay_person_month"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    paid_fen: Mapped[int] = mapped_column(BigInteger)
    quality_score: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    entered_by: Mapped[int] = mapped_column(ForeignKey("person.id"))
    entered_at: Mapped[datetime]


class ConductFinding(Base):
    """行风效能问题 found in a grid worker in a quarter: a one-veto, with its reason."""

    __tablename__ = "conduct_finding"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    quarter: Mapped[str] = mapped_column(String(7))  # YYYY-Qn
    reason: Mapped[str] = mapped_column(Text)
    entered_by: Mapped[int] = mapped_column(ForeignKey("person.id"))
    entered_at: Mapped[datetime]


class AssessmentQuarter(Base):
    """A quarter's assessment and reward split: computed as a draft, then published and frozen.

    ``result`` is the whole computed record (scores, ranks, pay, vetoes with reasons, the reward
    lines); once published it is what the notice says, whatever the data does later. Reopening is
    explicit and logged in ``history``.
    """

    __tablename__ = "assessment_quarter"
    quarter: Mapped[str] = mapped_column(String(7), primary_key=True)
    status: Mapped[str] = mapped_column(String(12))  # draft | published
    fund_fen: Mapped[int | None] = mapped_column(BigInteger)  # 以奖代补奖励资金
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    computed_at: Mapped[datetime | None]
    computed_by: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    published_at: Mapped[datetime | None]
    published_by: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list, server_default="[]")
