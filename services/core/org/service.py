"""Use cases of the organisation domain: log in, who am I, manage communities, grids, people."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from services.core.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from services.core.org import login_throttle
from services.core.org.models import Community, Grid, Person, PersonRole, Street
from services.core.org.repository import OrgRepository
from services.core.org.roles import COMMUNITY_ROLES, ORG_ADMIN_ROLES, Role
from services.core.org.scope import Principal
from services.core.patching import set_given
from services.core.security import hash_password, verify_password


@dataclass(frozen=True)
class RoleGrant:
    role: Role
    community_id: int | None = None


async def authenticate(session: AsyncSession, username: str, password: str) -> Person:
    """The active person with this username and password, else 401 (same answer for both)."""
    person = await OrgRepository(session).person_by_username(username)
    if person is None or not person.active or not verify_password(person.password_hash, password):
        raise NotAuthenticated("incorrect username or password", code="invalid_credentials")
    return person


async def load_principal(session: AsyncSession, person_id: int) -> Principal:
    repo = OrgRepository(session)
    person = await repo.person(person_id)
    if person is None or not person.active:
        raise NotAuthenticated("unknown or inactive user", code="invalid_token")
    roles = await repo.roles_of(person_id)
    role_set = frozenset(Role(r.role) for r in roles)
    linked = await repo.linked_community_ids(person_id) if Role.operator in role_set else []
    return Principal(
        person_id=person.id, username=person.username, name=person.name, roles=role_set,
        community_roles=frozenset((Role(r.role), r.community_id) for r in roles if r.community_id is not None),
        linked_community_ids=frozenset(linked),
    )


async def unlock(session: AsyncSession, principal: Principal, person_id: int) -> int:
    """An administrator releases an account locked by failed logins (登录锁定解除)."""
    require_org_admin(principal)
    person = await get_person(session, person_id)
    return await login_throttle.clear(session, person.username)


def require_org_admin(principal: Principal) -> None:
    if not principal.has_any(ORG_ADMIN_ROLES):
        raise Forbidden("managing the organisation needs the admin or department supervisor role",
                        code="role_not_allowed")


def _distinct(grants: Sequence[RoleGrant]) -> list[tuple[str, int | None]]:
    """The grants as (role, community) rows, duplicates dropped, in the order given."""
    return list(dict.fromkeys((g.role.value, g.community_id) for g in grants))


async def _check_grants(repo: OrgRepository, grants: Sequence[RoleGrant]) -> None:
    for i, g in enumerate(grants):
        if g.role in COMMUNITY_ROLES and g.community_id is None:
            raise InvalidInput(f"roles[{i}].community_id", f"role {g.role} is held for a community")
        if g.role not in COMMUNITY_ROLES and g.community_id is not None:
            raise InvalidInput(f"roles[{i}].community_id", f"role {g.role} is not held for a community")
    wanted = {g.community_id for g in grants if g.community_id is not None}
    missing = wanted - await repo.existing_community_ids(wanted)
    if missing:
        raise InvalidInput("roles.community_id", f"unknown community id(s): {sorted(missing)}")


async def create_person(session: AsyncSession, principal: Principal, *, username: str, name: str,
                        password: str, mobile: str | None, wecom_userid: str | None,
                        roles: Sequence[RoleGrant]) -> Person:
    require_org_admin(principal)
    repo = OrgRepository(session)
    if await repo.person_by_username(username) is not None:
        raise Conflict(f"username {username!r} is taken", code="username_taken")
    await _check_grants(repo, roles)
    _only_admins_touch_admins(principal, granting=any(g.role == Role.admin for g in roles), target_is_admin=False)
    person = Person(username=username, name=name, mobile=mobile, wecom_userid=wecom_userid,
                    password_hash=hash_password(password))
    await repo.add(person)
    await repo.replace_roles(person.id, _distinct(roles))
    return person


async def update_person(session: AsyncSession, principal: Principal, person_id: int, *,
                        name: str | None, mobile: str | None, wecom_userid: str | None,
                        password: str | None, active: bool | None) -> Person:
    require_org_admin(principal)
    person = await get_person(session, person_id)
    repo = OrgRepository(session)
    is_admin = await repo.holds_role(person_id, Role.admin)
    _only_admins_touch_admins(principal, granting=False, target_is_admin=is_admin)
    if is_admin and active is False:
        await _keep_an_admin(repo, losing=person_id)
    set_given(person, name=name, mobile=mobile, wecom_userid=wecom_userid, active=active,
              password_hash=hash_password(password) if password is not None else None)
    await session.flush()
    return person


async def get_person(session: AsyncSession, person_id: int) -> Person:
    person = await OrgRepository(session).person(person_id)
    if person is None:
        raise NotFound(f"person {person_id} not found", code="person_not_found")
    return person


async def set_roles(session: AsyncSession, principal: Principal, person_id: int,
                    roles: Sequence[RoleGrant]) -> None:
    require_org_admin(principal)
    repo = OrgRepository(session)
    await get_person(session, person_id)
    await _check_grants(repo, roles)
    granting = any(g.role == Role.admin for g in roles)
    is_admin = await repo.holds_role(person_id, Role.admin)
    _only_admins_touch_admins(principal, granting=granting, target_is_admin=is_admin)
    if is_admin and not granting:
        await _keep_an_admin(repo, losing=person_id)
    await repo.replace_roles(person_id, _distinct(roles))


def _only_admins_touch_admins(principal: Principal, *, granting: bool, target_is_admin: bool) -> None:
    """The department supervisor manages people, but not administrators (no self-promotion)."""
    if (granting or target_is_admin) and Role.admin not in principal.roles:
        raise Forbidden("only an administrator may grant the admin role or change an administrator",
                        code="admin_only")


async def _keep_an_admin(repo: OrgRepository, *, losing: int) -> None:
    if await repo.count_active_admins(excluding=losing) == 0:
        raise Conflict("this is the last active administrator", code="last_admin")


async def set_operator_communities(session: AsyncSession, principal: Principal, operator_id: int,
                                   community_ids: Sequence[int]) -> list[int]:
    """包联: replace the set of communities an operator is linked to."""
    require_org_admin(principal)
    repo = OrgRepository(session)
    await get_person(session, operator_id)
    if Role.operator.value not in {r.role for r in await repo.roles_of(operator_id)}:
        raise InvalidInput("operator_id", "person does not hold the operator role", code="not_an_operator")
    ids = sorted(set(community_ids))
    missing = set(ids) - await repo.existing_community_ids(ids)
    if missing:
        raise InvalidInput("community_ids", f"unknown community id(s): {sorted(missing)}")
    await repo.replace_operator_links(operator_id, ids)
    return ids


async def list_people(session: AsyncSession, principal: Principal
                      ) -> tuple[Sequence[Person], dict[int, list[PersonRole]]]:
    """Street-wide roles list everyone; operators and community people those of their communities."""
    repo = OrgRepository(session)
    scope = None if principal.street_wide else principal.visible_community_ids()
    people = await repo.list_people(scope)
    roles: dict[int, list[PersonRole]] = {p.id: [] for p in people}
    for r in await repo.roles_of_many(roles.keys()):
        roles[r.person_id].append(r)
    return people, roles


async def create_community(session: AsyncSession, principal: Principal, *, code: str, name: str) -> Community:
    require_org_admin(principal)
    repo = OrgRepository(session)
    street = await repo.get_street()
    if street is None:
        raise Conflict("no street is set up yet", code="street_missing")
    if await repo.community_by_code(code) is not None:
        raise Conflict(f"community code {code!r} is taken", code="code_taken")
    community = Community(street_id=street.id, code=code, name=name)
    await repo.add(community)
    return community


async def update_community(session: AsyncSession, principal: Principal, community_id: int, *,
                           name: str | None, active: bool | None) -> Community:
    require_org_admin(principal)
    community = await get_community(session, community_id)
    set_given(community, name=name, active=active)
    await session.flush()
    return community


async def get_community(session: AsyncSession, community_id: int) -> Community:
    community = await OrgRepository(session).community(community_id)
    if community is None:
        raise NotFound(f"community {community_id} not found", code="community_not_found")
    return community


async def create_grid(session: AsyncSession, principal: Principal, *, community_id: int, code: str,
                      name: str, grid_worker_id: int | None) -> Grid:
    require_org_admin(principal)
    repo = OrgRepository(session)
    if await repo.community(community_id) is None:
        raise InvalidInput("community_id", f"unknown community id {community_id}")
    if await repo.grid_by_code(code) is not None:
        raise Conflict(f"grid code {code!r} is taken", code="code_taken")
    if grid_worker_id is not None:
        await _check_grid_worker(repo, grid_worker_id, community_id)
    grid = Grid(community_id=community_id, code=code, name=name, grid_worker_id=grid_worker_id)
    await repo.add(grid)
    return grid


async def update_grid(session: AsyncSession, principal: Principal, grid_id: int, *, name: str | None,
                      grid_worker_id: int | None) -> Grid:
    """Rename a grid or hand it to another grid worker (网格员) of its community."""
    require_org_admin(principal)
    repo = OrgRepository(session)
    grid = await repo.grid(grid_id)
    if grid is None:
        raise NotFound(f"grid {grid_id} not found", code="grid_not_found")
    if grid_worker_id is not None:
        await _check_grid_worker(repo, grid_worker_id, grid.community_id)
    set_given(grid, name=name, grid_worker_id=grid_worker_id)
    await session.flush()
    return grid


async def _check_grid_worker(repo: OrgRepository, person_id: int, community_id: int) -> None:
    roles = await repo.roles_of(person_id)
    if not any(r.role == Role.grid_worker.value and r.community_id == community_id for r in roles):
        raise InvalidInput("grid_worker_id", "must be a grid worker (网格员) of the grid's community")


async def set_street(session: AsyncSession, principal: Principal, *, code: str, name: str,
                     district_name: str) -> Street:
    """The one street office of this installation: created the first time, updated after."""
    require_org_admin(principal)
    repo = OrgRepository(session)
    street = await repo.get_street()
    if street is None:
        street = Street(code=code, name=name, district_name=district_name)
        await repo.add(street)
    else:
        set_given(street, code=code, name=name, district_name=district_name)
        await session.flush()
    return street


async def get_street(session: AsyncSession) -> Street:
    street = await OrgRepository(session).get_street()
    if street is None:
        raise NotFound("no street is set up yet", code="street_missing")
    return street


async def create_admin(session: AsyncSession, *, username: str, name: str, password: str) -> Person:
    """The first administrator of a new installation (from the command line, not the API)."""
    repo = OrgRepository(session)
    if await repo.person_by_username(username) is not None:
        raise Conflict(f"username {username!r} is taken", code="username_taken")
    person = Person(username=username, name=name, password_hash=hash_password(password))
    await repo.add(person)
    await repo.replace_roles(person.id, [(Role.admin.value, None)])
    return person
