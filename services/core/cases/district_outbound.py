"""What the street tells the district platform (签收, 回复): outbox rows for the notifier's district channel.

Queued in the transaction of the move itself, so a reply the street saw committed always reaches
the district, at least once; the ``event_id`` (one per case event) lets the district drop a repeat.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.core.cases.models import PassiveCase
from services.core.cases.rules import CaseAction
from services.core.outbox.repository import OutboxRepository
from services.core.outbox.rows import district_call

# The moves the district hears about, and the event type it receives for each.
REPORTED: dict[CaseAction, str] = {
    CaseAction.accept: "case.accepted",  # 签收: the community took the case
    CaseAction.reply: "case.replied",  # 回复: the street's answer, for the district to close or reopen
}


def district_event(case: PassiveCase, action: CaseAction, case_event_id: int, now: datetime) -> dict[str, Any]:
    """The body the district receives (see docs/district-api.md, "Calls to the district")."""
    data: dict[str, Any] = {}
    if action == CaseAction.accept:
        data = {"accepted_at": now.isoformat()}
    elif action == CaseAction.reply:
        data = {"reply_text": case.reply_text, "handled_at": case.handled_at.isoformat() if case.handled_at else None,
                "progress_note": case.progress_note}
    return {"event_id": f"street-{case_event_id}", "type": REPORTED[action], "district_case_id": case.district_case_id,
            "street_case_id": case.id, "occurred_at": now.isoformat(), "data": data}


async def report_move(session: AsyncSession, case: PassiveCase, action: CaseAction, case_event_id: int,
                      now: datetime) -> None:
    """Queue the district's copy of ``action`` if it is one the district hears about."""
    if action not in REPORTED or not case.district_case_id:
        return
    event = district_event(case, action, case_event_id, now)
    await OutboxRepository(session).add([district_call(event, f"{event['type']} {case.district_case_id}", now,
                                                       case_id=case.id, community_id=None,
                                                       trace_id=case.trace_id)])
