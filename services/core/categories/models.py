"""Case categories: the 部件 (component) / 事件 (event) taxonomy, major (大类) → minor (小类)."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.core.db import Base


class Category(Base):
    __tablename__ = "category"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))  # component (部件) | event (事件)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("category.id"), index=True)
    level: Mapped[int] = mapped_column(Integer)  # 1 major (大类), 2 minor (小类)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
