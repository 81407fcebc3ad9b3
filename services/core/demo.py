"""A demo street (北京中路街道) with communities, grids and a person for every role. Idempotent."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from services.core.org.models import Community, Grid, OperatorCommunity, Person, PersonRole, Street
from services.core.org.repository import OrgRepository
from services.core.org.roles import Role
from services.core.security import hash_password

DEMO_PASSWORD = "demo-pass-2026"
COMMUNITIES = [("BJZL-01", "宝湖社区"), ("BJZL-02", "长城花园社区"), ("BJZL-03", "悦海社区")]


@dataclass(frozen=True)
class DemoPerson:
    username: str
    name: str
    roles: tuple[tuple[Role, str | None], ...]  # (role, community code or None)
    links: tuple[str, ...] = ()  # 包联 communities of an operator


def _community_people(i: int, code: str, short: str) -> list[DemoPerson]:
    return [
        DemoPerson(f"c{i}_director", f"{short}主任", ((Role.community_director, code),)),
        DemoPerson(f"c{i}_vice", f"{short}副主任", ((Role.community_vice_director, code),)),
        DemoPerson(f"c{i}_secretary", f"{short}书记", ((Role.community_secretary, code),)),
        DemoPerson(f"c{i}_handler", f"{short}接单员", ((Role.community_handler, code),)),
        DemoPerson(f"c{i}_grid1", f"{short}网格员一", ((Role.grid_worker, code),)),
        DemoPerson(f"c{i}_grid2", f"{short}网格员二", ((Role.grid_worker, code),)),
    ]


DEMO_PEOPLE: list[DemoPerson] = [
    DemoPerson("admin", "系统管理员", ((Role.admin, None),)),
    DemoPerson("commander", "张总指挥", ((Role.commander, None),)),
    DemoPerson("deputy", "赵副总指挥", ((Role.deputy_commander, None),)),
    DemoPerson("leader", "钱分管领导", ((Role.leader_in_charge, None),)),
    DemoPerson("supervisor", "孙主管", ((Role.department_supervisor, None), (Role.department_head, None))),
    DemoPerson("bizsup", "周业务主管", ((Role.business_supervisor, None),)),
    DemoPerson("operator1", "吴操作员", ((Role.operator, None),), ("BJZL-01", "BJZL-02")),
    DemoPerson("operator2", "郑操作员", ((Role.operator, None),), ("BJZL-03",)),
    *[p for i, (code, name) in enumerate(COMMUNITIES, 1) for p in _community_people(i, code, name[:2])],
]


async def seed_demo(session: AsyncSession) -> bool:
    """Create the demo street unless a street exists; True if it seeded."""
    repo = OrgRepository(session)
    if await repo.get_street() is not None:
        return False
    street = Street(code="640106001", name="北京中路街道", district_name="金凤区")
    await repo.add(street)
    communities: dict[str, Community] = {}
    for code, name in COMMUNITIES:
        communities[code] = Community(street_id=street.id, code=code, name=name)
        await repo.add(communities[code])
    password_hash = hash_password(DEMO_PASSWORD)  # one hash: argon2 is slow on purpose
    people: dict[str, Person] = {}
    for p in DEMO_PEOPLE:
        person = Person(username=p.username, name=p.name, password_hash=password_hash,
                        mobile=f"1390000{len(people):04d}")
        await repo.add(person)
        people[p.username] = person
        for role, role_community in p.roles:
            session.add(PersonRole(person_id=person.id, role=role.value,
                                   community_id=communities[role_community].id if role_community else None))
        for link in p.links:
            session.add(OperatorCommunity(operator_id=person.id, community_id=communities[link].id))
    for i, (code, _) in enumerate(COMMUNITIES, 1):
        for g in (1, 2):
            session.add(Grid(community_id=communities[code].id, code=f"{code}-G{g}", name=f"第{g}网格",
                             grid_worker_id=people[f"c{i}_grid{g}"].id))
    await session.flush()
    return True
