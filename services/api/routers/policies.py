"""Reminder policies (提醒程序): read by everyone, versioned edits by the supervisor."""

from __future__ import annotations

from fastapi import APIRouter

from services.api.deps import ClockDep, PrincipalDep, SessionDep
from services.api.schemas import PolicyIn, PolicyOut
from services.core.timers import policies
from services.core.timers.rules import PolicyKind

router = APIRouter(prefix="/api/v1/policies", tags=["policies"])


@router.get("", response_model=list[PolicyOut], summary="The active acceptance and handling policies")
async def active(session: SessionDep, principal: PrincipalDep) -> list[PolicyOut]:
    return [PolicyOut.model_validate(p) for p in await policies.active_policies(session)]


@router.get("/{kind}/versions", response_model=list[PolicyOut])
async def versions(kind: PolicyKind, session: SessionDep, principal: PrincipalDep) -> list[PolicyOut]:
    return [PolicyOut.model_validate(p) for p in await policies.policy_versions(session, kind)]


@router.put("/{kind}", response_model=PolicyOut, summary="Set a new version of a policy (chains planned "
            "from now on use it; planned timers keep theirs)")
async def set_policy(kind: PolicyKind, body: PolicyIn, session: SessionDep, principal: PrincipalDep,
                     clock: ClockDep) -> PolicyOut:
    nodes = [n.model_dump(exclude_none=True, mode="json") for n in body.nodes]
    for n in nodes:
        if "fraction" in n:
            n["fraction"] = list(n["fraction"])
    quiet = body.quiet_hours.model_dump() if body.quiet_hours else None
    return PolicyOut.model_validate(await policies.set_policy(session, principal, kind, nodes, quiet, now=clock.now()))
