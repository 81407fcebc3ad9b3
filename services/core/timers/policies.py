"""Editing the reminder policies: every change is a new version; timers keep the version they came from."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.core.errors import InvalidInput
from services.core.org.roles import Role
from services.core.org.scope import Principal
from services.core.org.service import require_org_admin
from services.core.timers import rules
from services.core.timers.models import EscalationPolicy
from services.core.timers.repository import PolicyRepository

RECIPIENTS = {r.value for r in Role} | {rules.RESPONSIBLE_PERSON}


def validate_nodes(kind: rules.PolicyKind, nodes: Sequence[dict[str, Any]]) -> None:
    """Each node well formed for its kind; 422 naming the first bad field."""
    if not nodes:
        raise InvalidInput("nodes", "a policy needs at least one node")
    seen: set[str] = set()
    for i, n in enumerate(nodes):
        where = f"nodes[{i}]"
        if n["key"] in seen:
            raise InvalidInput(f"{where}.key", f"duplicate key {n['key']!r}")
        seen.add(n["key"])
        unknown = [r for r in n["recipients"] if r not in RECIPIENTS]
        if unknown:
            raise InvalidInput(f"{where}.recipients", f"unknown role(s) {unknown}")
        if kind == rules.PolicyKind.acceptance and not (n.get("offset_seconds") or 0) > 0:
            raise InvalidInput(f"{where}.offset_seconds", "acceptance nodes fall due a positive time after dispatch")
        if kind == rules.PolicyKind.handling:
            fraction = n.get("fraction")
            if not fraction or not (0 < fraction[0] <= fraction[1]):
                raise InvalidInput(f"{where}.fraction", "handling nodes are a fraction [n, d] of the limit, 0 < n <= d")


async def set_policy(session: AsyncSession, principal: Principal, kind: rules.PolicyKind,
                     nodes: list[dict[str, Any]], quiet_hours: dict[str, str] | None, *, now: datetime
                     ) -> EscalationPolicy:
    """A new active version of the policy (the supervisor's to set, SPEC §3: "policy data")."""
    require_org_admin(principal)
    validate_nodes(kind, nodes)
    if quiet_hours is not None:
        for part in ("start", "end"):
            try:
                time.fromisoformat(quiet_hours[part])
            except (KeyError, ValueError):
                raise InvalidInput(f"quiet_hours.{part}", "a time of day like 22:00") from None
    repo = PolicyRepository(session)
    await repo.lock_kind(kind.value)
    latest = max((p.version for p in await repo.versions(kind.value)), default=0)
    return await repo.add_version(EscalationPolicy(
        kind=kind.value, version=latest + 1, active=True, nodes=nodes, quiet_hours=quiet_hours,
        created_at=now, created_by=principal.person_id))


async def active_policies(session: AsyncSession) -> Sequence[EscalationPolicy]:
    return await PolicyRepository(session).active()


async def policy_versions(session: AsyncSession, kind: rules.PolicyKind) -> Sequence[EscalationPolicy]:
    return await PolicyRepository(session).versions(kind.value)
