"""Organisation admin: communities, grids, people, roles, operator links (包联)."""

from __future__ import annotations

from fastapi import APIRouter, status

from services.api.deps import PrincipalDep, SessionDep
from services.api.schemas import (
    CommunityIn,
    CommunityOut,
    CommunityPatch,
    GridIn,
    GridOut,
    GridPatch,
    Id,
    LinksIn,
    LinksOut,
    PersonIn,
    PersonOut,
    PersonPatch,
    RoleGrantOut,
    RolesIn,
    StreetIn,
    StreetOut,
)
from services.core.org import service
from services.core.org.models import Person
from services.core.org.repository import OrgRepository
from services.core.org.service import RoleGrant

router = APIRouter(prefix="/api/v1", tags=["organisation"])


async def _person_out(session: SessionDep, person: Person) -> PersonOut:
    roles = await OrgRepository(session).roles_of(person.id)
    out = PersonOut.model_validate(person)
    out.roles = [RoleGrantOut.model_validate(r) for r in roles]
    return out


@router.get("/street", response_model=StreetOut, summary="The street office (街道) of this installation")
async def get_street(session: SessionDep, principal: PrincipalDep) -> StreetOut:
    return StreetOut.model_validate(await service.get_street(session))


@router.put("/street", response_model=StreetOut, summary="Set up or rename the street office")
async def set_street(body: StreetIn, session: SessionDep, principal: PrincipalDep) -> StreetOut:
    street = await service.set_street(session, principal, code=body.code, name=body.name,
                                      district_name=body.district_name)
    return StreetOut.model_validate(street)


@router.get("/communities", response_model=list[CommunityOut])
async def list_communities(session: SessionDep, principal: PrincipalDep) -> list[CommunityOut]:
    return [CommunityOut.model_validate(c) for c in await OrgRepository(session).list_communities()]


@router.post("/communities", response_model=CommunityOut, status_code=status.HTTP_201_CREATED)
async def create_community(body: CommunityIn, session: SessionDep, principal: PrincipalDep) -> CommunityOut:
    c = await service.create_community(session, principal, code=body.code, name=body.name)
    return CommunityOut.model_validate(c)


@router.patch("/communities/{community_id}", response_model=CommunityOut)
async def update_community(community_id: Id, body: CommunityPatch, session: SessionDep,
                           principal: PrincipalDep) -> CommunityOut:
    c = await service.update_community(session, principal, community_id, name=body.name, active=body.active)
    return CommunityOut.model_validate(c)


@router.get("/grids", response_model=list[GridOut])
async def list_grids(session: SessionDep, principal: PrincipalDep,
                     community_id: Id | None = None) -> list[GridOut]:
    return [GridOut.model_validate(g) for g in await OrgRepository(session).list_grids(community_id)]


@router.post("/grids", response_model=GridOut, status_code=status.HTTP_201_CREATED)
async def create_grid(body: GridIn, session: SessionDep, principal: PrincipalDep) -> GridOut:
    g = await service.create_grid(session, principal, community_id=body.community_id, code=body.code,
                                  name=body.name, grid_worker_id=body.grid_worker_id)
    return GridOut.model_validate(g)


@router.patch("/grids/{grid_id}", response_model=GridOut, summary="Rename a grid or change its grid worker")
async def update_grid(grid_id: Id, body: GridPatch, session: SessionDep, principal: PrincipalDep) -> GridOut:
    g = await service.update_grid(session, principal, grid_id, name=body.name, grid_worker_id=body.grid_worker_id)
    return GridOut.model_validate(g)


@router.get("/people", response_model=list[PersonOut])
async def list_people(session: SessionDep, principal: PrincipalDep) -> list[PersonOut]:
    people, roles = await service.list_people(session, principal)
    out = []
    for p in people:
        item = PersonOut.model_validate(p)
        item.roles = [RoleGrantOut.model_validate(r) for r in roles[p.id]]
        out.append(item)
    return out


@router.post("/people", response_model=PersonOut, status_code=status.HTTP_201_CREATED)
async def create_person(body: PersonIn, session: SessionDep, principal: PrincipalDep) -> PersonOut:
    person = await service.create_person(
        session, principal, username=body.username, name=body.name, password=body.password,
        mobile=body.mobile, wecom_userid=body.wecom_userid,
        roles=[RoleGrant(g.role, g.community_id) for g in body.roles])
    return await _person_out(session, person)


@router.patch("/people/{person_id}", response_model=PersonOut)
async def update_person(person_id: Id, body: PersonPatch, session: SessionDep,
                        principal: PrincipalDep) -> PersonOut:
    person = await service.update_person(session, principal, person_id, name=body.name, mobile=body.mobile,
                                         wecom_userid=body.wecom_userid, password=body.password,
                                         active=body.active)
    return await _person_out(session, person)


@router.put("/people/{person_id}/roles", response_model=PersonOut)
async def set_roles(person_id: Id, body: RolesIn, session: SessionDep, principal: PrincipalDep) -> PersonOut:
    await service.set_roles(session, principal, person_id, [RoleGrant(g.role, g.community_id) for g in body.roles])
    return await _person_out(session, await service.get_person(session, person_id))


@router.post("/people/{person_id}/unlock", summary="Release an account locked by failed logins")
async def unlock(person_id: Id, session: SessionDep, principal: PrincipalDep) -> dict[str, int]:
    return {"forgotten_failures": await service.unlock(session, principal, person_id)}


@router.put("/operators/{operator_id}/communities", response_model=LinksOut,
            summary="Set the communities an operator is linked to (包联)")
async def set_operator_communities(operator_id: Id, body: LinksIn, session: SessionDep,
                                   principal: PrincipalDep) -> LinksOut:
    ids = await service.set_operator_communities(session, principal, operator_id, body.community_ids)
    return LinksOut(operator_id=operator_id, community_ids=ids)
