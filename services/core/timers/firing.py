"""Firing due timers, a batch at a time, in one transaction with a fixed number of statements.

Each batch: claim the due timers (SKIP LOCKED: replicas take disjoint rows), lock their cases in
id order, read everything the batch needs in one query per kind (policies, communities, people by
role, responsible persons, linked operators), then write reminders, outbox rows and call tasks in
bulk and mark the timers fired or skipped. A crash before commit leaves it all as it was and
another replica fires it; the unique keys (reminder per timer, outbox idem_key) make a second
write impossible.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.core.cases.models import PassiveCase
from services.core.timers import rules
from services.core.timers.models import CaseTimer
from services.core.timers.repository import TimerRepository
from services.core.timers.rules import Channel, PolicyKind
from services.core.timers.service import policy_of


@dataclass(frozen=True)
class Fired:
    timer_id: int
    case_id: int
    node_key: str
    due_at: datetime
    fired_at: datetime
    skipped: str | None  # the reason, or None when it fired


@dataclass(frozen=True)
class _Plan:
    timer: CaseTimer
    case: PassiveCase
    node: rules.Node
    channels: tuple[Channel, ...]
    recipients: list[dict[str, Any]]


async def fire_due(session: AsyncSession, now: datetime, *, limit: int = 100) -> list[Fired]:
    """Fire (or skip) one batch of due timers in the caller's transaction."""
    repo = TimerRepository(session)
    due = await repo.claim_due(now, limit)
    if not due:
        return []
    cases = {c.id: c for c in await repo.lock_cases(sorted({t.case_id for t in due}))}
    policies = {p.id: (p, policy_of(p)) for p in await repo.policies({t.policy_id for t in due})}

    out: list[Fired] = []
    owed: list[tuple[CaseTimer, PassiveCase, rules.Node, rules.Policy]] = []
    skipped: dict[int, str] = {}
    for timer in due:
        case = cases[timer.case_id]
        row, policy = policies[timer.policy_id]
        reason = rules.skip_reason(timer.generation, case.timer_generation, PolicyKind(row.kind), case.status)
        node = next((n for n in policy.nodes if n.key == timer.node_key), None)
        if reason is None and node is None:
            reason = "node no longer in its policy"
        if reason is not None or node is None:
            skipped[timer.id] = reason or "node no longer in its policy"
        else:
            owed.append((timer, case, node, policy))
        out.append(Fired(timer.id, case.id, timer.node_key, timer.due_at, now, skipped.get(timer.id)))
    if owed:
        await _write(repo, owed, now)
    # Set-based updates (one statement each) rather than one UPDATE per row from the ORM.
    await repo.mark_timers(now, fired=[t.id for t, _, _, _ in owed], skipped=skipped)
    return out


async def _write(repo: TimerRepository, owed: list[tuple[CaseTimer, PassiveCase, rules.Node, rules.Policy]],
                 now: datetime) -> None:
    community_ids = {case.community_id for _, case, _, _ in owed if case.community_id is not None}
    roles = {r for _, _, node, _ in owed for r in node.recipients if r != rules.RESPONSIBLE_PERSON}
    names = await repo.community_names(community_ids)
    people = defaultdict(list)  # community id (None: street-wide) → (person, role) rows
    for row in await repo.people_with_roles_in(sorted(roles), community_ids):
        people[row.community_id].append(row)
    responsible = {p.id: p for p in await repo.people({c.responsible_person_id for _, c, _, _ in owed
                                                       if c.responsible_person_id is not None})}
    operators = await repo.linked_operators_of(community_ids)

    plans = []
    for timer, case, node, policy in owed:
        recipients = _recipients(node, case, people, responsible)
        plans.append(_Plan(timer, case, node, rules.channels_at(node, now, policy.quiet_hours), recipients))
    reminder_ids = await repo.add_reminders([
        {"case_id": p.case.id, "timer_id": p.timer.id, "kind": "auto", "node_key": p.node.key, "label": p.node.label,
         "channels": [c.value for c in p.channels], "recipients": p.recipients, "occurred_at": now} for p in plans])

    outbox: list[dict[str, Any]] = []
    tasks: list[dict[str, Any]] = []
    await repo.count_reminders([p.case.id for p in plans])  # 提醒次数 in the ledger
    for p in plans:
        reminder_id = reminder_ids[p.timer.id]
        community = names.get(p.case.community_id) if p.case.community_id else None
        outbox += _messages(p, reminder_id, community, now)
        if Channel.operator_task in p.channels:
            tasks += [{"case_id": p.case.id, "reminder_id": reminder_id, "operator_id": op, "label": p.node.label,
                       "call_person_ids": [r["person_id"] for r in p.recipients], "due_at": p.timer.due_at}
                      for op in (operators.get(p.case.community_id, []) if p.case.community_id else [])]
    await repo.add_outbox(outbox)
    await repo.add_tasks(tasks)


def _recipients(node: rules.Node, case: PassiveCase, people: dict[Any, list[Any]],
                responsible: dict[int, Any]) -> list[dict[str, Any]]:
    """The people a node reaches, once each, with the role that brought them in."""
    found: dict[int, dict[str, Any]] = {}
    if rules.RESPONSIBLE_PERSON in node.recipients and case.responsible_person_id in responsible:
        person = responsible[case.responsible_person_id]
        found[person.id] = {"person_id": person.id, "name": person.name, "mobile": person.mobile,
                            "role": rules.RESPONSIBLE_PERSON}
    for row in [*people.get(None, []), *people.get(case.community_id, [])]:
        if row.role in node.recipients:
            found.setdefault(row.id, {"person_id": row.id, "name": row.name, "mobile": row.mobile, "role": row.role})
    return sorted(found.values(), key=lambda r: r["person_id"])


def _messages(p: _Plan, reminder_id: int, community: str | None, now: datetime) -> list[dict[str, Any]]:
    """The outbox rows of one fired node: one group @-message, or one message per person and channel."""
    case, timer = p.case, p.timer
    text = rules.reminder_text(p.node, district_case_id=case.district_case_id, title=case.title, community=community,
                               due_at=timer.due_at, dispatched_at=case.dispatched_at, deadline_at=case.deadline_at)
    base = {"case_id": case.id, "reminder_id": reminder_id, "state": "pending", "attempts": 0,
            "next_attempt_at": now, "created_at": now,
            # params: the variables of the SMS and voice templates approved at the vendor
            "message": {"text": text, "case_id": case.id,
                        "params": {"case": case.district_case_id, "title": case.title[:20], "node": p.node.label,
                                   "community": community or ""}}}
    rows = []
    for channel in p.channels:
        if channel == Channel.operator_task:
            continue
        if channel == Channel.wecom_robot:
            mobiles = [r["mobile"] for r in p.recipients if r.get("mobile")]
            rows.append({**base, "channel": channel.value, "idem_key": f"timer:{timer.id}:{channel.value}",
                         "recipient": {"community_id": case.community_id, "mentioned_mobiles": mobiles}})
            continue
        rows += [{**base, "channel": channel.value, "idem_key": f"timer:{timer.id}:{channel.value}:{r['person_id']}",
                  "recipient": {"person_id": r["person_id"], "name": r["name"], "mobile": r["mobile"]}}
                 for r in p.recipients if r.get("mobile")]
    return rows
