"""Login (OAuth2 password flow → JWT) and who am I."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm

from services.api.deps import ClockDep, PrincipalDep, SessionDep, SettingsDep
from services.api.schemas import MeOut, RoleGrantOut, TokenOut
from services.core.org.service import authenticate
from services.core.security import create_access_token

router = APIRouter(prefix="/api/v1", tags=["auth"])


@router.post("/auth/token", response_model=TokenOut, summary="Log in (OAuth2 password flow)")
async def login(form: Annotated[OAuth2PasswordRequestForm, Depends()], session: SessionDep,
                clock: ClockDep, settings: SettingsDep) -> TokenOut:
    person = await authenticate(session, form.username, form.password)
    token = create_access_token(person.id, secret=settings.jwt_secret, now=clock.now(),
                                minutes=settings.access_token_minutes)
    return TokenOut(access_token=token, expires_in=settings.access_token_minutes * 60)


@router.get("/me", response_model=MeOut, summary="The logged-in person, roles and scope")
async def me(principal: PrincipalDep) -> MeOut:
    grants = [RoleGrantOut(role=r, community_id=None) for r in sorted(principal.roles)
              if all(r != cr for cr, _ in principal.community_roles)]
    grants += [RoleGrantOut(role=r, community_id=c) for r, c in sorted(principal.community_roles)]
    return MeOut(id=principal.person_id, username=principal.username, name=principal.name, roles=grants,
                 linked_community_ids=sorted(principal.linked_community_ids),
                 street_wide=principal.street_wide)
