"""Use cases of the outbox seen from the API: what was sent for a case, and retrying a dead letter."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.core.cases.access import get_visible_case
from services.core.cases.rules import STREET_ACTORS
from services.core.errors import Conflict, Forbidden, NotFound
from services.core.org.scope import Principal
from services.core.outbox.models import DeliveryAttempt, OutboxMessage
from services.core.outbox.repository import OutboxRepository


async def case_notifications(session: AsyncSession, principal: Principal, case_id: int
                             ) -> list[tuple[OutboxMessage, list[DeliveryAttempt]]]:
    """Every message sent (or to be sent) for a case, with its attempts."""
    await get_visible_case(session, principal, case_id)
    repo = OutboxRepository(session)
    messages = list(await repo.of_case(case_id))
    attempts: dict[int, list[DeliveryAttempt]] = {m.id: [] for m in messages}
    for a in await repo.attempts_of(list(attempts)):
        attempts[a.outbox_id].append(a)
    return [(m, attempts[m.id]) for m in messages]


async def retry_dead_letter(session: AsyncSession, principal: Principal, outbox_id: int, *, now: datetime
                            ) -> OutboxMessage:
    """Send a dead (or unknown) message again, after someone fixed the cause (a robot key, a number)."""
    repo = OutboxRepository(session)
    message = await repo.get(outbox_id, for_update=True)
    if message is None or message.case_id is None:
        raise NotFound(f"notification {outbox_id} not found", code="notification_not_found")
    case = await get_visible_case(session, principal, message.case_id)
    if not principal.roles_for_community(case.community_id) & STREET_ACTORS:
        raise Forbidden("retrying notifications is for operators and supervisors", code="role_not_allowed")
    if message.state not in ("dead", "unknown"):
        raise Conflict(f"notification {outbox_id} is {message.state}; only dead or unknown ones are retried",
                       code="not_a_dead_letter")
    await repo.finish(outbox_id, state="pending", attempts=0, next_attempt_at=now, created_at=now,
                      last_error=None)
    await session.refresh(message)
    return message
