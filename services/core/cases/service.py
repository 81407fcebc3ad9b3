"""Use cases of passive cases: read them in scope and move them through the lifecycle."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.core.cases import district_outbound, rules
from services.core.cases.access import get_visible_case
from services.core.cases.models import CaseEvent, PassiveCase
from services.core.cases.repository import CaseRepository
from services.core.cases.rules import Actor, CaseAction, CaseStatus
from services.core.errors import Conflict, Forbidden, InvalidInput
from services.core.org.repository import OrgRepository
from services.core.org.roles import COMMUNITY_ROLES, Role
from services.core.org.scope import Principal
from services.core.timers import service as timers

__all__ = ["ActingAs", "MoveInput", "apply_move", "event_row", "get_visible_case", "move_case"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MoveInput:
    """What a move may carry; each action reads the fields it needs (see ``_apply_effects``)."""

    community_id: int | None = None
    responsible_person_id: int | None = None
    requested_deadline_at: datetime | None = None
    deadline_at: datetime | None = None
    note: str | None = None
    reply_text: str | None = None


@dataclass(frozen=True)
class ActingAs:
    """The one who moves a case: a person (with their principal) or the district/system."""

    principal: Principal | None = None
    actor: Actor | None = None

    def held_for(self, community_id: int | None) -> frozenset[Role | Actor]:
        if self.actor is not None:
            return frozenset({self.actor})
        assert self.principal is not None
        return frozenset(self.principal.roles_for_community(community_id))

    @property
    def kind(self) -> str:
        return self.actor.value if self.actor is not None else "person"

    @property
    def person_id(self) -> int | None:
        return self.principal.person_id if self.principal is not None else None


def event_row(case_id: int, action: str, from_status: str | None, to_status: str | None,
              acting: ActingAs, now: datetime, note: str | None = None,
              data: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"case_id": case_id, "action": action, "from_status": from_status, "to_status": to_status,
            "actor_kind": acting.kind, "actor_person_id": acting.person_id, "note": note,
            "data": data or {}, "occurred_at": now}


async def case_events(session: AsyncSession, principal: Principal, case_id: int) -> list[CaseEvent]:
    await get_visible_case(session, principal, case_id)
    return list(await CaseRepository(session).events(case_id))


async def move_case(session: AsyncSession, principal: Principal, case_id: int, action: CaseAction,
                    data: MoveInput, *, now: datetime, acceptance_limit: timedelta) -> PassiveCase:
    """Apply one move of the lifecycle for a person, under a row lock, with its audit event."""
    case = await get_visible_case(session, principal, case_id, for_update=True)
    return await apply_move(session, case, action, data, ActingAs(principal=principal), now=now,
                            acceptance_limit=acceptance_limit)


async def apply_move(session: AsyncSession, case: PassiveCase, action: CaseAction, data: MoveInput,
                     acting: ActingAs, *, now: datetime, acceptance_limit: timedelta) -> PassiveCase:
    """Check role, then status, then the move's own inputs; stamp ``*_at`` and append the event."""
    move = rules.move_for(action)
    if not rules.actors_allowed(action, acting.held_for(case.community_id)):
        raise Forbidden(f"your roles do not allow {action.value!r} on this case", code="role_not_allowed")
    current = CaseStatus(case.status)
    if not rules.is_allowed_from(action, current):
        raise Conflict(f"cannot {action.value} a case that is {current.value}",
                       code="transition_not_allowed",
                       details={"status": current.value, "action": action.value})
    event_data = await _apply_effects(session, case, action, data, acting, now, acceptance_limit)
    if move.stamp is not None:
        setattr(case, move.stamp, now)
    case.status = move.target.value
    case.updated_at = now
    await timers.on_move(session, case, action.value, now)  # plan or stop reminders, same transaction
    await session.flush()
    event_id = await CaseRepository(session).add_event(event_row(
        case.id, action.value, current.value, move.target.value, acting, now, data.note, event_data))
    if acting.actor != Actor.district:  # the district's own moves are not echoed back to it
        await district_outbound.report_move(session, case, action, event_id, now)
    # The line's request id is this request's; trace_id names the case's, under which the escalator
    # and notifier log their lines about it.
    log.info("case %s: %s %s → %s", case.id, action.value, current.value, move.target.value,
             extra={"case_id": case.id, "trace_id": case.trace_id, "action": action.value,
                    "actor": acting.kind})
    return case


def _need(value: Any, field: str, action: CaseAction) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidInput(field, f"is required to {action.value} a case", code="field_required")
    return value


async def _check_target_community(session: AsyncSession, acting: ActingAs, community_id: int) -> None:
    community = await OrgRepository(session).community(community_id)
    if community is None or not community.active:
        raise InvalidInput("community_id", f"unknown or inactive community id {community_id}")
    p = acting.principal
    if p is not None and not p.street_wide and community_id not in p.linked_community_ids:
        raise Forbidden(f"you are not linked (包联) to community {community_id}", code="community_not_linked")


async def _apply_effects(session: AsyncSession, case: PassiveCase, action: CaseAction, data: MoveInput,
                         acting: ActingAs, now: datetime, acceptance_limit: timedelta) -> dict[str, Any]:
    """The per-action part of a move: required inputs and the columns it changes besides status."""
    A = CaseAction
    if action in (A.dispatch, A.redispatch):
        community_id = _need(data.community_id, "community_id", action)
        await _check_target_community(session, acting, community_id)
        previous = case.community_id
        case.community_id = community_id
        case.dispatch_count += 1
        case.accepted_at = case.started_at = None
        case.responsible_person_id = None
        case.acceptance_timed_out = False
        return {"community_id": community_id, "previous_community_id": previous}
    if action == A.accept:
        assert case.dispatched_at is not None
        responsible = data.responsible_person_id or acting.person_id
        if responsible is not None and data.responsible_person_id is not None:
            await _check_member(session, responsible, case.community_id)
        case.responsible_person_id = responsible
        case.acceptance_timed_out = rules.is_acceptance_timeout(case.dispatched_at, now, acceptance_limit)
        return {"responsible_person_id": responsible, "acceptance_timed_out": case.acceptance_timed_out,
                "minutes_to_accept": round((now - case.dispatched_at).total_seconds() / 60, 1)}
    if action == A.request_extension:
        wanted = _need(data.requested_deadline_at, "requested_deadline_at", action)
        _need(data.note, "note", action)
        if wanted <= case.deadline_at:
            raise InvalidInput("requested_deadline_at", "must be later than the current deadline")
        case.extension_requested_deadline_at = wanted
        case.extension_reason = data.note
        return {"requested_deadline_at": wanted.isoformat(), "resume_status": case.status}
    if action == A.grant_extension:
        new_deadline = data.deadline_at or case.extension_requested_deadline_at
        assert new_deadline is not None
        if new_deadline <= case.deadline_at:
            raise InvalidInput("deadline_at", "must be later than the current deadline")
        old = case.deadline_at
        case.deadline_at = new_deadline
        case.extension_count += 1
        return {"previous_deadline_at": old.isoformat(), "deadline_at": new_deadline.isoformat()}
    if action == A.return_case:
        case.return_reason = _need(data.note, "note", action)
        return {"community_id": case.community_id}
    if action == A.handle:
        case.progress_note = _need(data.note, "note", action)
        return {"overdue": case.deadline_at < now}
    if action == A.reply:
        case.reply_text = _need(data.reply_text, "reply_text", action)
        return {}
    if action == A.reopen:
        _need(data.note, "note", action)
        case.handled_at = case.replied_at = case.closed_at = None
        case.reopen_count += 1
        return {}
    return {}


async def _check_member(session: AsyncSession, person_id: int, community_id: int | None) -> None:
    roles = await OrgRepository(session).roles_of(person_id)
    if not any(r.community_id == community_id and Role(r.role) in COMMUNITY_ROLES for r in roles):
        raise InvalidInput("responsible_person_id", "must be a person of the case's community")


async def add_progress_note(session: AsyncSession, principal: Principal, case_id: int, note: str,
                            *, now: datetime) -> PassiveCase:
    """进展情况: a note on an open case by its community or its street-side actors."""
    case = await get_visible_case(session, principal, case_id, for_update=True)
    held = principal.roles_for_community(case.community_id)
    if not held & (rules.COMMUNITY_ACTORS | rules.STREET_ACTORS):
        raise Forbidden("your roles do not allow notes on this case", code="role_not_allowed")
    if CaseStatus(case.status) not in rules.OPEN:
        raise Conflict(f"case is {case.status}; notes are for open cases", code="case_not_open")
    case.progress_note = note
    case.updated_at = now
    await session.flush()
    await CaseRepository(session).add_events([event_row(
        case.id, "note", case.status, case.status, ActingAs(principal=principal), now, note)])
    return case
