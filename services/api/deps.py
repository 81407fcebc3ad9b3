"""Request-scoped dependencies: one session (one transaction), the clock, the settings, who is asking."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.audit.recorder import Actor, current_actor
from services.core.clock import Clock
from services.core.config import Settings
from services.core.errors import NotAuthenticated
from services.core.org.scope import Principal
from services.core.org.service import load_principal
from services.core.security import decode_access_token

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed before the response is sent, rolled back on error."""
    async with request.app.state.sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


async def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


# scope="function": the commit happens before the response leaves, so a 2xx means committed.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
ClockDep = Annotated[Clock, Depends(get_clock)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_principal(request: Request, session: SessionDep, clock: ClockDep, settings: SettingsDep,
                        token: Annotated[str | None, Depends(oauth2_scheme)]) -> Principal:
    if not token:
        raise NotAuthenticated("missing bearer token", code="not_authenticated")
    person_id = decode_access_token(token, secret=settings.jwt_secret, now=clock.now())
    principal = await load_principal(session, person_id)
    # Every write this request makes is audited in its name (services/core/audit/recorder.py).
    current_actor.set(Actor(principal.person_id, f"{request.method} {request.url.path}", clock.now()))
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]
