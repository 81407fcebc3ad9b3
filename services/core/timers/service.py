"""Use cases of reminders: plan a case's chain on its moves, fire due nodes, log manual reminders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.core.cases.access import get_visible_case
from services.core.cases.models import PassiveCase
from services.core.cases.rules import STREET_ACTORS
from services.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.core.org.models import Community
from services.core.org.scope import Principal
from services.core.timers import rules
from services.core.timers.models import CaseTimer, EscalationPolicy, OperatorTask, Reminder
from services.core.timers.repository import TimerRepository
from services.core.timers.rules import ChainEffect, Channel, PolicyKind


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


@dataclass(frozen=True)
class Fired:
    timer_id: int
    case_id: int
    node_key: str
    due_at: datetime
    fired_at: datetime
    skipped: str | None  # the reason, or None when it fired


async def fire_due(session: AsyncSession, now: datetime, *, limit: int = 100) -> list[Fired]:
    """Fire (or skip) the due timers of one batch, in the caller's transaction.

    Each due timer is locked (SKIP LOCKED: replicas take disjoint rows), its case is locked and
    re-read, and the reminder, its outbox rows and operator tasks are written with the timer's
    new state. A crash before commit leaves everything as it was; another replica fires it.
    """
    repo = TimerRepository(session)
    out: list[Fired] = []
    policies: dict[int, EscalationPolicy] = {}
    due = await repo.claim_due(now, limit)
    # Lock the batch's cases at once, in id order: two replicas holding timers of the same cases
    # then wait for each other instead of deadlocking.
    cases = {c.id: c for c in await repo.lock_cases(sorted({t.case_id for t in due}))}
    for timer in due:
        case = cases[timer.case_id]
        if timer.policy_id not in policies:
            policies[timer.policy_id] = await repo.policy(timer.policy_id)
        row = policies[timer.policy_id]
        reason = rules.skip_reason(timer.generation, case.timer_generation, PolicyKind(row.kind), case.status)
        node = next((n for n in policy_of(row).nodes if n.key == timer.node_key), None)
        if reason is None and node is None:
            reason = "node no longer in its policy"
        timer.fired_at = now
        if reason is not None or node is None:
            timer.state, timer.skip_reason = "skipped", reason
        else:
            await _fire(repo, case, timer, node, policy_of(row), now)
            timer.state = "fired"
        out.append(Fired(timer.id, case.id, timer.node_key, timer.due_at, now, timer.skip_reason))
    await session.flush()
    return out


async def _fire(repo: TimerRepository, case: PassiveCase, timer: CaseTimer, node: rules.Node,
                policy: rules.Policy, now: datetime) -> None:
    recipients = await _recipients(repo, case, node.recipients)
    channels = rules.channels_at(node, now, policy.quiet_hours)
    community = await repo.session.get(Community, case.community_id) if case.community_id else None
    text = rules.reminder_text(node, district_case_id=case.district_case_id, title=case.title,
                               community=community.name if community else None, due_at=timer.due_at,
                               dispatched_at=case.dispatched_at, deadline_at=case.deadline_at)
    reminder = await repo.add_reminder(Reminder(
        case_id=case.id, timer_id=timer.id, kind="auto", node_key=node.key, label=node.label,
        channels=[c.value for c in channels], recipients=recipients, occurred_at=now))
    case.reminder_count += 1  # 提醒次数 in the ledger
    outbox: list[dict[str, Any]] = []
    base = {"case_id": case.id, "reminder_id": reminder.id, "state": "pending", "attempts": 0,
            "next_attempt_at": now, "created_at": now,
            # params: the variables of the SMS and voice templates approved at the vendor
            "message": {"text": text, "case_id": case.id,
                        "params": {"case": case.district_case_id, "title": case.title[:20], "node": node.label,
                                   "community": community.name if community else ""}}}
    for channel in channels:
        if channel == Channel.operator_task:
            continue
        if channel == Channel.wecom_robot:  # one @-message in the community's group
            mobiles = [r["mobile"] for r in recipients if r.get("mobile")]
            outbox.append({**base, "channel": channel.value, "idem_key": f"timer:{timer.id}:{channel.value}",
                           "recipient": {"community_id": case.community_id, "mentioned_mobiles": mobiles}})
            continue
        for r in recipients:
            if r.get("mobile"):
                outbox.append({**base, "channel": channel.value,
                               "idem_key": f"timer:{timer.id}:{channel.value}:{r['person_id']}",
                               "recipient": {"person_id": r["person_id"], "name": r["name"],
                                             "mobile": r["mobile"]}})
    await repo.add_outbox(outbox)
    if Channel.operator_task in channels:
        await repo.add_tasks([
            {"case_id": case.id, "reminder_id": reminder.id, "operator_id": op, "label": node.label,
             "call_person_ids": [r["person_id"] for r in recipients], "due_at": timer.due_at}
            for op in await repo.linked_operators(case.community_id)])


async def _recipients(repo: TimerRepository, case: PassiveCase, wanted: tuple[str, ...]) -> list[dict[str, Any]]:
    """The people a node reaches, once each, with the role that brought them in."""
    found: dict[int, dict[str, Any]] = {}
    if rules.RESPONSIBLE_PERSON in wanted and case.responsible_person_id is not None:
        person = await repo.person(case.responsible_person_id)
        if person is not None and person.active:
            found[person.id] = {"person_id": person.id, "name": person.name, "mobile": person.mobile,
                                "role": rules.RESPONSIBLE_PERSON}
    roles = [r for r in wanted if r != rules.RESPONSIBLE_PERSON]
    if roles:
        for row in await repo.people_with_roles(roles, case.community_id):
            found.setdefault(row.id, {"person_id": row.id, "name": row.name, "mobile": row.mobile,
                                      "role": row.role})
    return list(found.values())


MANUAL_OUTCOMES = ("answered", "no_answer", "busy", "refused", "wrong_number", "other")


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
