"""Use cases of reminders: plan a case's chain on its moves, log manual reminders, list them.

Firing due nodes is ``firing.py`` (the escalator's work).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.core.cases.access import get_visible_case
from services.core.cases.models import PassiveCase
from services.core.cases.rules import STREET_ACTORS
from services.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.core.org.scope import Principal
from services.core.timers import rules
from services.core.timers.models import CaseTimer, EscalationPolicy, OperatorTask, Reminder
from services.core.timers.repository import TimerRepository
from services.core.timers.rules import ChainEffect, PolicyKind


def policy_of(row: EscalationPolicy) -> rules.Policy:
    return rules.policy_from_json(row.kind, row.nodes, row.quiet_hours)


async def on_move(session: AsyncSession, case: PassiveCase, action: str, now: datetime) -> None:
    """Start, restart or stop the case's reminder chain as the move requires (same transaction).

    Stopping is a new generation: pending timers of the old one skip themselves when due, so the
    move never waits on a timer the escalator holds.
    """
    effect = rules.CHAIN_EFFECTS.get(action)
    if effect is None:
        return
    case.timer_generation += 1
    if effect == ChainEffect.start_acceptance:
        await _plan(session, case, PolicyKind.acceptance, now)
    elif effect == ChainEffect.start_handling:
        await _plan(session, case, PolicyKind.handling, now)


async def restart_handling(session: AsyncSession, case: PassiveCase, now: datetime) -> None:
    """The deadline moved outside a move (the district changed it): re-plan the handling nodes."""
    if case.status in rules.HANDLING_WAITS_IN:
        case.timer_generation += 1
        await _plan(session, case, PolicyKind.handling, now)


async def _plan(session: AsyncSession, case: PassiveCase, kind: PolicyKind, now: datetime) -> None:
    repo = TimerRepository(session)
    row = await repo.active_policy(kind.value)
    policy = policy_of(row)
    if kind == PolicyKind.acceptance:
        due = rules.plan_acceptance(policy, case.dispatched_at or now)
    else:
        due = rules.plan_handling(policy, case.received_at, case.deadline_at, now)
    await session.flush()
    await repo.plan(case.id, case.timer_generation, row.id, due)


async def log_manual_reminder(session: AsyncSession, principal: Principal, case_id: int, *,
                              called_person_id: int | None, called_name: str | None, outcome: str,
                              note: str | None, task_id: int | None, now: datetime) -> Reminder:
    """提醒登记: an operator's (or supervisor's) phone reminder, counted like automatic ones.

    With ``task_id`` it also closes that call task of the operator's to-do list.
    """
    case = await get_visible_case(session, principal, case_id, for_update=True)
    if not principal.roles_for_community(case.community_id) & STREET_ACTORS:
        raise Forbidden("logging reminders is for operators and supervisors", code="role_not_allowed")
    repo = TimerRepository(session)
    recipients: list[dict[str, Any]] = []
    if called_person_id is not None:
        person = await repo.person(called_person_id)
        if person is None:
            raise InvalidInput("called_person_id", f"unknown person id {called_person_id}")
        recipients.append({"person_id": person.id, "name": person.name, "mobile": person.mobile})
    elif called_name:
        recipients.append({"person_id": None, "name": called_name, "mobile": None})
    else:
        raise InvalidInput("called_person_id", "say who was called (called_person_id or called_name)",
                           code="field_required")
    task = None
    if task_id is not None:
        task = await repo.task(task_id, for_update=True)
        if task is None or task.case_id != case.id or task.operator_id != principal.person_id:
            raise NotFound(f"task {task_id} not found", code="task_not_found")
        if task.done_at is not None:
            raise Conflict(f"task {task_id} is done already", code="task_done")
    reminder = await repo.add_reminder(Reminder(
        case_id=case.id, kind="manual", label=task.label if task else "电话提醒（人工）",
        channels=["phone"], recipients=recipients, outcome=outcome, note=note, logged_by=principal.person_id,
        occurred_at=now))
    if task is not None:
        task.done_at, task.done_reminder_id = now, reminder.id
    case.reminder_count += 1
    case.updated_at = now
    await session.flush()
    return reminder


async def case_reminders(session: AsyncSession, principal: Principal, case_id: int) -> list[Reminder]:
    await get_visible_case(session, principal, case_id)
    return list(await TimerRepository(session).reminders_of(case_id))


async def case_timers(session: AsyncSession, principal: Principal, case_id: int) -> list[CaseTimer]:
    await get_visible_case(session, principal, case_id)
    return list(await TimerRepository(session).timers_of(case_id))


async def my_tasks(session: AsyncSession, principal: Principal) -> list[OperatorTask]:
    """The operator's to-do list: calls the policy asks them to make, oldest first."""
    return list(await TimerRepository(session).open_tasks(principal.person_id))
