"""Reading a case within the asker's scope; shared by every use case that starts from a case id."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.core.cases.models import PassiveCase
from services.core.cases.repository import CaseRepository
from services.core.errors import NotFound
from services.core.org.scope import Principal


async def get_visible_case(session: AsyncSession, principal: Principal, case_id: int,
                           *, for_update: bool = False) -> PassiveCase:
    """The case if the principal may see it; otherwise 404 (never reveal that it exists)."""
    case = await CaseRepository(session).get(case_id, for_update=for_update)
    if case is None or not principal.can_see_case(case.community_id, case.responsible_person_id):
        raise NotFound(f"case {case_id} not found", code="case_not_found")
    return case
