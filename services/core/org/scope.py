"""Who is asking and what they may see (可见范围)."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.core.org.roles import COMMUNITY_ROLES, STREET_WIDE_ROLES, Role


@dataclass(frozen=True)
class Principal:
    """The authenticated person with their roles, community roles and linked communities."""

    person_id: int
    username: str
    name: str
    roles: frozenset[Role]
    community_roles: frozenset[tuple[Role, int]] = field(default_factory=frozenset)
    linked_community_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def street_wide(self) -> bool:
        """Leaders, supervisors and admins see the whole street."""
        return bool(self.roles & STREET_WIDE_ROLES)

    @property
    def is_operator(self) -> bool:
        return Role.operator in self.roles

    def has_any(self, roles: frozenset[Role]) -> bool:
        return bool(self.roles & roles)

    def visible_community_ids(self) -> frozenset[int]:
        """Communities whose passive cases this person sees (street-wide roles see all anyway).

        A grid worker's community role does not open the community's passive cases: grid workers
        see their own cases (SPEC §1) and those they are responsible for.
        """
        ids = {cid for role, cid in self.community_roles if role != Role.grid_worker}
        if self.is_operator:
            ids |= self.linked_community_ids
        return frozenset(ids)

    def roles_for_community(self, community_id: int | None) -> frozenset[Role]:
        """The roles that apply to a case of ``community_id`` (None: not yet dispatched)."""
        held: set[Role] = set(self.roles & STREET_WIDE_ROLES)
        if self.is_operator and (community_id is None or community_id in self.linked_community_ids):
            held.add(Role.operator)
        if community_id is not None:
            held |= {r for r, cid in self.community_roles if cid == community_id and r in COMMUNITY_ROLES}
        return frozenset(held)

    def can_see_case(self, community_id: int | None, responsible_person_id: int | None) -> bool:
        """Street-wide roles see all; operators their linked communities and the dispatch queue
        (cases not yet dispatched); community people their community; anyone the cases they
        are responsible for."""
        if self.street_wide or responsible_person_id == self.person_id:
            return True
        if community_id is None:
            return self.is_operator
        return community_id in self.visible_community_ids()
