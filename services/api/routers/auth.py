"""Login (OAuth2 password flow → JWT) and who am I."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request

from services.api.deps import ClockDep, PrincipalDep, SessionDep, SettingsDep
from services.api.errors import error_responses
from services.api.schemas import MeOut, RoleGrantOut, TokenOut
from services.core.errors import NotAuthenticated
from services.core.org import login_throttle
from services.core.org.login_throttle import Throttle
from services.core.org.service import authenticate
from services.core.security import create_access_token
from services.core.storable import require_storable

router = APIRouter(prefix="/api/v1", tags=["auth"])


@router.post("/auth/token", response_model=TokenOut, summary="Log in (OAuth2 password flow)",
             responses=error_responses(401, 413, 422, 429, 503))
async def login(username: Annotated[str, Form(min_length=1, max_length=200)],
                password: Annotated[str, Form(min_length=1, max_length=200)], request: Request, session: SessionDep,
                clock: ClockDep, settings: SettingsDep) -> TokenOut:
    """Five failures for an account, or twenty from an address, within 15 minutes lock it out until the
    window frees (429 `login_locked` with `Retry-After`); a success clears the account's failures."""
    require_storable({"username": username, "password": password})
    now = clock.now()
    address = request.client.host if request.client else "unknown"
    limits = Throttle(window=timedelta(minutes=settings.login_window_minutes),
                      per_account=settings.login_max_failures_per_account,
                      per_address=settings.login_max_failures_per_address)
    await login_throttle.check(session, username, address, now, limits)
    try:
        person = await authenticate(session, username, password)
    except NotAuthenticated:
        # Its own transaction: the request's is rolled back with the 401, the failure must stay.
        async with request.app.state.session_scope() as own:
            await login_throttle.record_failure(own, username, address, now)
        raise
    await login_throttle.clear(session, username)
    token = create_access_token(person.id, secret=settings.jwt_secret, now=clock.now(),
                                minutes=settings.access_token_minutes)
    return TokenOut(access_token=token, expires_in=settings.access_token_minutes * 60)


@router.get("/me", response_model=MeOut, summary="The logged-in person, roles and scope",
            responses=error_responses(401, 503))
async def me(principal: PrincipalDep) -> MeOut:
    grants = [RoleGrantOut(role=r, community_id=None) for r in sorted(principal.roles)
              if all(r != cr for cr, _ in principal.community_roles)]
    grants += [RoleGrantOut(role=r, community_id=c) for r, c in sorted(principal.community_roles)]
    return MeOut(id=principal.person_id, username=principal.username, name=principal.name, roles=grants,
                 linked_community_ids=sorted(principal.linked_community_ids),
                 street_wide=principal.street_wide)
