"""Active cases (主动案件): what grid workers find and report in their own grids (SPEC §2)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Index, Numeric, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from services.core.db import Base


class ActiveCase(Base):
    """A case a grid worker reported; self-handled (自发自处) ones come with before/after photos.

    The operator's audit (审核) makes it valid, invalid or false (虚假案件, a one-veto for the
    reporter). Valid cases are uploaded to the district through the outbox.
    """

    __tablename__ = "active_case"
    __table_args__ = (
        Index("ix_active_case_community_reported", "community_id", "reported_at"),
        Index("ix_active_case_reporter_reported", "reporter_id", "reported_at"),
        Index("ix_active_case_category_reported", "category_id", "reported_at"),
        Index("ix_active_case_audit_pending", "community_id", "reported_at",
              postgresql_where=text("audit_status = 'pending'")),
    )
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"))
    grid_id: Mapped[int] = mapped_column(ForeignKey("grid.id"))
    reporter_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id"))
    description: Mapped[str] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(200))
    lat: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    lng: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    reported_at: Mapped[datetime]
    self_handled: Mapped[bool] = mapped_column(Boolean, default=False)  # 自发自处
    handled_at: Mapped[datetime | None]
    deadline_at: Mapped[datetime | None]  # set when found valid and not self-handled
    audit_status: Mapped[str] = mapped_column(String(12), default="pending", server_default="pending")
    audited_by: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    audited_at: Mapped[datetime | None]
    audit_note: Mapped[str | None] = mapped_column(Text)
    # A hint for the operator (same category, close by, shortly before); never merged silently.
    possible_duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("active_case.id"))
