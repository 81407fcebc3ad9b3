"""Who may fetch an attachment: whoever may see what it belongs to (404 for everyone else)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.core.active import service as active_cases
from services.core.errors import NotFound
from services.core.files.models import Attachment
from services.core.org.scope import Principal
from services.core.records import service as records


async def visible_attachment(session: AsyncSession, principal: Principal, attachment_id: int) -> Attachment:
    found = await session.get(Attachment, attachment_id)
    try:
        if found is None:
            raise NotFound("")
        if found.owner_kind == active_cases.OWNER_KIND:
            await active_cases.get_visible(session, principal, found.owner_id)
        elif found.owner_kind == "record":
            await records.visible_record(session, principal, found.owner_id)
        else:
            raise NotFound("")
    except NotFound:
        raise NotFound(f"attachment {attachment_id} not found", code="attachment_not_found") from None
    return found
