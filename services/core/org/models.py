"""Organisation tables: street, communities, grids, people, their roles and operator links (包联)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from services.core.db import Base


class Street(Base):
    """街道 — one street office per installation."""

    __tablename__ = "street"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    district_name: Mapped[str] = mapped_column(String(100), default="金凤区")


class Community(Base):
    """社区."""

    __tablename__ = "community"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"))
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    # The key of the community group's WeCom robot (微信群机器人): a credential, never shown or logged.
    wecom_robot_key: Mapped[str | None] = mapped_column(String(100))


class Person(Base):
    """A person who logs in; roles are rows of ``person_role``."""

    __tablename__ = "person"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    mobile: Mapped[str | None] = mapped_column(String(20))
    wecom_userid: Mapped[str | None] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Grid(Base):
    """网格, with its grid worker (网格员)."""

    __tablename__ = "grid"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    grid_worker_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)


class PersonRole(Base):
    __tablename__ = "person_role"
    __table_args__ = (UniqueConstraint("person_id", "role", "community_id",
                                       name="uq_person_role_person_role_community",
                                       postgresql_nulls_not_distinct=True),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(40))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"), index=True)


class OperatorCommunity(Base):
    """包联: an operator is linked to the communities whose cases they dispatch and chase."""

    __tablename__ = "operator_community"
    operator_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), primary_key=True, index=True)


class LoginFailure(Base):
    """A failed login, by account and by address: the sliding windows that lock them out for a while."""

    __tablename__ = "login_failure"
    __table_args__ = (
        Index("ix_login_failure_username_at", "username", "at"),
        Index("ix_login_failure_address_at", "address", "at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
