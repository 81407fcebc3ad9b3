"""Ingest district events (区平台推送): one transaction, idempotent by ``event_id`` and case id."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.cases import rules
from services.core.cases.district_contract import CaseChanged, DistrictEvent
from services.core.cases.intake_repository import EventIdRaced, create_case_once
from services.core.cases.models import PassiveCase
from services.core.cases.repository import CaseRepository
from services.core.cases.rules import Actor, CaseAction, CaseStatus
from services.core.cases.service import ActingAs, MoveInput, apply_move, event_row
from services.core.errors import Conflict, NotFound, ServiceUnavailable
from services.core.timers import service as timers

DISTRICT = ActingAs(actor=Actor.district)
SYSTEM = ActingAs(actor=Actor.system)


@dataclass(frozen=True)
class IngestResult:
    http_status: int
    body: dict[str, Any]
    replayed: bool = False


async def ingest_event(session: AsyncSession, event: DistrictEvent, raw: bytes, *,
                       now: datetime, auto_dispatch: bool, acceptance_limit: timedelta) -> IngestResult:
    """Apply one ``case.updated``/``case.urged``/``case.recalled`` exactly once, in the session's
    transaction (``case.created`` goes through ``ingest_created``).

    The inbox row is claimed first: a redelivery of the same ``event_id`` (even one racing this
    transaction) waits for it and then gets the stored answer. Any error rolls the claim back too,
    so a rejected event leaves nothing behind and may be sent again.
    """
    assert event.created is None, "case.created goes through ingest_created"
    payload = json.loads(raw)  # stored as sent; a redelivery must be the same JSON
    repo = CaseRepository(session)
    claimed = await repo.claim_district_event({
        "event_id": event.event_id, "type": event.type, "occurred_at": event.occurred_at,
        "received_at": now, "district_case_id": event.ref.district_case_id, "payload": payload,
        "response_status": 0, "response": {},
    })
    if not claimed:
        stored = await repo.district_event(event.event_id)
        assert stored is not None
        if stored.payload != payload:
            raise _event_id_reused(event.event_id)
        return IngestResult(200, stored.response, replayed=True)

    case = await repo.get_by_district_id(event.ref.district_case_id, for_update=True)
    if case is None:
        raise NotFound(f"no case with district_case_id {event.ref.district_case_id!r}",
                       code="unknown_district_case")
    if event.changed is not None:
        await _updated(repo, case, event.changed, event.event_id, now)
        if event.changed.community_code is not None:
            await _rerouted(session, repo, case, event.changed.community_code, now=now, auto_dispatch=auto_dispatch,
                            acceptance_limit=acceptance_limit)
    elif event.type == "case.urged":
        await _urged(repo, case, event, now)
    else:
        await _recalled(session, case, event, now, acceptance_limit)
    body = {"case_id": case.id, "status": case.status, "duplicate": False}
    answer = await repo.finish_district_event(event.event_id, case_id=case.id, status=200, response=body)
    return IngestResult(200, answer)


CREATE_ATTEMPTS = 3


async def ingest_created(conn: asyncpg.Connection, event: DistrictEvent, raw: bytes, *,
                         now: datetime, auto_dispatch: bool, trace_id: str | None = None) -> IngestResult:
    """Apply one ``case.created`` exactly once: one SQL statement, atomic on its own. A new case keeps
    ``trace_id`` (the request id of the delivery that created it).

    A statement that raced a twin delivery (same ``event_id`` or same ``district_case_id``,
    committing while it ran) changed nothing and saw nothing; run again, it sees the twin's rows
    and answers as the twin did. A third twin in a row is answered 503 (the district retries).
    """
    assert event.created is not None
    for _ in range(CREATE_ATTEMPTS):
        try:
            out = await create_case_once(conn, event.created, event_id=event.event_id,
                                         occurred_at=event.occurred_at, payload_json=raw.decode(), now=now,
                                         auto_dispatch=auto_dispatch, trace_id=trace_id)
        except EventIdRaced:
            raise _event_id_reused(event.event_id) from None
        if out.prev_response is not None:
            if out.prev_payload != json.loads(raw):
                raise _event_id_reused(event.event_id)
            return IngestResult(200, out.prev_response, replayed=True)
        if out.response is not None and out.status is not None:
            return IngestResult(out.status, out.response)
    raise ServiceUnavailable("the case is being written by another delivery; retry", code="retry_later")


def _event_id_reused(event_id: str) -> Conflict:
    return Conflict(f"event_id {event_id!r} was already used for another event", code="event_id_reused")


async def _updated(repo: CaseRepository, case: PassiveCase, data: CaseChanged, event_id: str,
                   now: datetime) -> None:
    changes: dict[str, Any] = {}
    for name in ("source", "title", "description", "address", "complexity", "category_code"):
        value = getattr(data, name)
        if value is not None and value != getattr(case, name):
            changes[name] = value
            setattr(case, name, value)
    if data.category_code is not None and "category_code" in changes:
        case.category_id = await repo.category_id_by_code(data.category_code)
    if data.location is not None:
        case.lat, case.lng = data.location.lat, data.location.lng
        changes["location"] = {"lat": str(data.location.lat), "lng": str(data.location.lng)}
    if data.attachments is not None:
        case.attachments = [a.model_dump() for a in data.attachments]
        changes["attachments"] = case.attachments
    if data.deadline_at is not None and data.deadline_at != case.deadline_at:
        # The district moved its own limit: it becomes the deadline, as a granted extension would.
        changes["deadline_at"] = data.deadline_at.isoformat()
        case.deadline_at = data.deadline_at
        await timers.restart_handling(repo.session, case, now)
    case.updated_at = now
    await repo.session.flush()
    await repo.add_events([event_row(case.id, "district_update", case.status, case.status, DISTRICT, now,
                                     data={"event_id": event_id, "changes": changes})])


async def _rerouted(session: AsyncSession, repo: CaseRepository, case: PassiveCase, code: str, *,
                    now: datetime, auto_dispatch: bool, acceptance_limit: timedelta) -> None:
    """The district names (another) community. Recorded always; a case still waiting for dispatch
    is dispatched to it when auto-dispatch is on. A case already with a community stays there:
    moving it is the operator's call (退回/重新分派), and the ledger shows the district's code."""
    case.district_community_code = code
    community_id = await repo.community_id_by_code(code)
    if auto_dispatch and community_id is not None and case.status == CaseStatus.received.value:
        await apply_move(session, case, CaseAction.dispatch, MoveInput(community_id=community_id,
                                                                       note="auto-dispatch by community_code"),
                         SYSTEM, now=now, acceptance_limit=acceptance_limit)


async def _urged(repo: CaseRepository, case: PassiveCase, event: DistrictEvent, now: datetime) -> None:
    """区级催办: counted among the case's reminders (提醒次数) and logged."""
    case.reminder_count += 1
    case.updated_at = now
    await repo.session.flush()
    await repo.add_events([event_row(case.id, "district_urge", case.status, case.status, DISTRICT, now,
                                     event.note, {"event_id": event.event_id})])


async def _recalled(session: AsyncSession, case: PassiveCase, event: DistrictEvent, now: datetime,
                    acceptance_limit: timedelta) -> None:
    if case.status == CaseStatus.recalled.value:
        return  # already recalled under another event id: nothing changes
    if CaseStatus(case.status) not in rules.OPEN:
        raise Conflict(f"cannot recall a case that is {case.status}", code="transition_not_allowed")
    await apply_move(session, case, CaseAction.recall, MoveInput(note=event.note), DISTRICT, now=now,
                     acceptance_limit=acceptance_limit)
