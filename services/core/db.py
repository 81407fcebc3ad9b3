"""Engine, session factory and the declarative base shared by every domain's models."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, ClassVar

import asyncpg
from sqlalchemy import BigInteger, DateTime, MetaData
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

# Deterministic constraint names so migrations can drop what they created.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: DateTime(timezone=True), int: BigInteger}


def async_url(url: str) -> str:
    """Normalise ``postgres://`` / ``postgresql://`` URLs to the asyncpg driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql", "postgresql+psycopg2", "postgresql+psycopg"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def plain_url(url: str) -> str:
    """The libpq form of a URL (for asyncpg.connect, psql, pg_dump)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_engine(url: str, *, pool_size: int = 10, max_overflow: int = 10, pre_ping: bool = True,
                  application_name: str = "liandong") -> AsyncEngine:
    """An asyncpg engine. ``pre_ping`` checks each connection on checkout (one round trip); without
    it a connection broken by a database restart fails one request and the pool is refreshed."""
    return create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=pre_ping,
        connect_args={"server_settings": {"application_name": application_name, "timezone": "UTC"}},
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def create_raw_pool(url: str, *, max_size: int = 10, application_name: str = "liandong") -> asyncpg.Pool:
    """A plain asyncpg pool for the few hot paths written as single SQL statements."""
    return await asyncpg.create_pool(plain_url(url), min_size=1, max_size=max_size,
                                     server_settings={"application_name": application_name, "timezone": "UTC"})


@asynccontextmanager
async def transaction(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One transaction for one job: commit on success, roll back on error."""
    async with sessionmaker() as session, session.begin():
        yield session
