"""Rules of active cases (主动案件, SPEC §2) as pure functions: who may see, report and audit them."""

from __future__ import annotations

import math
from enum import StrEnum

from services.core.org.roles import Role
from services.core.org.scope import Principal


class AuditStatus(StrEnum):
    pending = "pending"  # 待审核
    valid = "valid"  # 有效
    invalid = "invalid"  # 无效
    false = "false"  # 虚假案件: a one-veto for the reporter's quarter


AUDIT_LABELS = {AuditStatus.pending: "待审核", AuditStatus.valid: "有效", AuditStatus.invalid: "无效",
                AuditStatus.false: "虚假案件"}
AUDITORS = frozenset({Role.operator, Role.department_supervisor, Role.business_supervisor})
COMMUNITY_READERS = frozenset({Role.community_director, Role.community_vice_director, Role.community_secretary,
                               Role.community_handler})


def can_see(principal: Principal, community_id: int, reporter_id: int) -> bool:
    """The reporter, their community's people, operators linked to it, and street-wide roles."""
    if principal.street_wide or principal.person_id == reporter_id:
        return True
    if principal.is_operator and community_id in principal.linked_community_ids:
        return True
    return any(cid == community_id and role in COMMUNITY_READERS for role, cid in principal.community_roles)


def can_audit(principal: Principal, community_id: int) -> bool:
    """审核 is the operators' (of the linked community) and the supervisors'."""
    if principal.roles & {Role.department_supervisor, Role.business_supervisor}:
        return True
    return principal.is_operator and community_id in principal.linked_community_ids


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Metres between two points (haversine; plenty for "the same spot" within a grid)."""
    r = 6_371_000.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))
