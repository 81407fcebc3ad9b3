"""Calendar duties' runs, one row per (duty, period): the key that makes each run happen once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.core.db import Base


class DutyRun(Base):
    __tablename__ = "duty_run"
    duty: Mapped[str] = mapped_column(String(40), primary_key=True)
    period: Mapped[str] = mapped_column(String(20), primary_key=True)  # e.g. 2026-12, 2026-12-04, 2026-W49
    started_at: Mapped[datetime]
    result: Mapped[dict[str, Any]] = mapped_column(JSONB)
