"""All SQL of the organisation domain."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.org.models import Community, Grid, OperatorCommunity, Person, PersonRole, Street


class OrgRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_street(self) -> Street | None:
        return (await self.session.execute(select(Street).order_by(Street.id).limit(1))).scalar_one_or_none()

    async def person_by_username(self, username: str) -> Person | None:
        stmt = select(Person).where(Person.username == username)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def person(self, person_id: int) -> Person | None:
        return await self.session.get(Person, person_id)

    async def roles_of(self, person_id: int) -> Sequence[PersonRole]:
        stmt = select(PersonRole).where(PersonRole.person_id == person_id).order_by(PersonRole.id)
        return (await self.session.execute(stmt)).scalars().all()

    async def holds_role(self, person_id: int, role: str) -> bool:
        stmt = select(PersonRole.id).where(PersonRole.person_id == person_id, PersonRole.role == role).limit(1)
        return (await self.session.execute(stmt)).first() is not None

    async def count_active_admins(self, *, excluding: int) -> int:
        stmt = (select(func.count(func.distinct(Person.id))).join(PersonRole, PersonRole.person_id == Person.id)
                .where(PersonRole.role == "admin", Person.active.is_(True), Person.id != excluding))
        return int((await self.session.execute(stmt)).scalar_one())

    async def roles_of_many(self, person_ids: Iterable[int]) -> Sequence[PersonRole]:
        stmt = select(PersonRole).where(PersonRole.person_id.in_(list(person_ids))).order_by(PersonRole.id)
        return (await self.session.execute(stmt)).scalars().all()

    async def linked_community_ids(self, operator_id: int) -> list[int]:
        stmt = select(OperatorCommunity.community_id).where(OperatorCommunity.operator_id == operator_id)
        return list((await self.session.execute(stmt)).scalars().all())

    async def list_people(self, community_ids: frozenset[int] | None) -> Sequence[Person]:
        stmt = select(Person).order_by(Person.id)
        if community_ids is not None:
            members = select(PersonRole.person_id).where(PersonRole.community_id.in_(community_ids))
            stmt = stmt.where(Person.id.in_(members))
        return (await self.session.execute(stmt)).scalars().all()

    async def replace_roles(self, person_id: int, roles: Iterable[tuple[str, int | None]]) -> None:
        await self.session.execute(delete(PersonRole).where(PersonRole.person_id == person_id))
        for role, community_id in roles:
            self.session.add(PersonRole(person_id=person_id, role=role, community_id=community_id))
        await self.session.flush()

    async def replace_operator_links(self, operator_id: int, community_ids: Iterable[int]) -> None:
        await self.session.execute(delete(OperatorCommunity).where(OperatorCommunity.operator_id == operator_id))
        for cid in community_ids:
            self.session.add(OperatorCommunity(operator_id=operator_id, community_id=cid))
        await self.session.flush()

    async def list_communities(self) -> Sequence[Community]:
        return (await self.session.execute(select(Community).order_by(Community.code))).scalars().all()

    async def communities_of(self, person_id: int) -> set[int]:
        """Communities a person belongs to: by a community role, or by holding one of its grids."""
        roles = select(PersonRole.community_id).where(PersonRole.person_id == person_id,
                                                      PersonRole.community_id.isnot(None))
        grids = select(Grid.community_id).where(Grid.grid_worker_id == person_id)
        return {cid for cid in (await self.session.execute(roles.union(grids))).scalars().all() if cid is not None}

    async def community(self, community_id: int) -> Community | None:
        return await self.session.get(Community, community_id)

    async def community_by_code(self, code: str) -> Community | None:
        stmt = select(Community).where(Community.code == code)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def existing_community_ids(self, ids: Iterable[int]) -> set[int]:
        stmt = select(Community.id).where(Community.id.in_(list(ids)))
        return set((await self.session.execute(stmt)).scalars().all())

    async def list_grids(self, community_id: int | None) -> Sequence[Grid]:
        stmt = select(Grid).order_by(Grid.code)
        if community_id is not None:
            stmt = stmt.where(Grid.community_id == community_id)
        return (await self.session.execute(stmt)).scalars().all()

    async def grid_by_code(self, code: str) -> Grid | None:
        return (await self.session.execute(select(Grid).where(Grid.code == code))).scalar_one_or_none()

    async def grid(self, grid_id: int) -> Grid | None:
        return await self.session.get(Grid, grid_id)

    async def add(self, obj: object) -> None:
        self.session.add(obj)
        await self.session.flush()
