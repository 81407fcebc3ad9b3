"""All SQL of timers, policies, reminders, the outbox and operator tasks."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.cases.models import PassiveCase
from services.core.org.models import Community, OperatorCommunity, Person, PersonRole
from services.core.outbox.models import OutboxMessage
from services.core.timers.models import CaseTimer, EscalationPolicy, OperatorTask, Reminder

NOTIFY_CHANNEL = "liandong_timers"


class TimerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def active_policy(self, kind: str) -> EscalationPolicy:
        stmt = select(EscalationPolicy).where(EscalationPolicy.kind == kind, EscalationPolicy.active.is_(True))
        return (await self.session.execute(stmt)).scalar_one()

    async def plan(self, case_id: int, generation: int, policy_id: int, due: Iterable[tuple[str, datetime]]) -> None:
        """Insert the chain's timers (idempotent per case, generation and node) and wake the escalator."""
        rows = [{"case_id": case_id, "generation": generation, "node_key": key, "policy_id": policy_id,
                 "due_at": at, "state": "pending"} for key, at in due]
        if rows:
            await self.session.execute(insert(CaseTimer).on_conflict_do_nothing(
                constraint="uq_case_timer_case_generation_node"), rows)
            await self.session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})

    async def claim_due(self, now: datetime, limit: int) -> Sequence[CaseTimer]:
        """Due pending timers, locked for this transaction; rows another firer holds are skipped."""
        stmt = (select(CaseTimer).where(CaseTimer.state == "pending", CaseTimer.due_at <= now)
                .order_by(CaseTimer.due_at, CaseTimer.id).limit(limit).with_for_update(skip_locked=True))
        return (await self.session.execute(stmt)).scalars().all()

    async def lock_cases(self, case_ids: Sequence[int]) -> Sequence[PassiveCase]:
        stmt = (select(PassiveCase).where(PassiveCase.id.in_(list(case_ids))).order_by(PassiveCase.id)
                .with_for_update().execution_options(populate_existing=True))
        return (await self.session.execute(stmt)).scalars().all()

    async def mark_timers(self, now: datetime, *, fired: Sequence[int], skipped: dict[int, str]) -> None:
        if fired:
            await self.session.execute(text(
                "UPDATE case_timer SET state = 'fired', fired_at = :now WHERE id = ANY(:ids)"),
                {"now": now, "ids": list(fired)})
        if skipped:
            await self.session.execute(text(
                "UPDATE case_timer t SET state = 'skipped', fired_at = :now, skip_reason = v.reason "
                "FROM unnest(CAST(:ids AS bigint[]), CAST(:reasons AS text[])) AS v(id, reason) WHERE t.id = v.id"),
                {"now": now, "ids": list(skipped), "reasons": list(skipped.values())})

    async def count_reminders(self, case_ids: Sequence[int]) -> None:
        """Each case's reminder count (提醒次数) up by its reminders in this batch."""
        per_case: dict[int, int] = {}
        for cid in case_ids:
            per_case[cid] = per_case.get(cid, 0) + 1
        await self.session.execute(text(
            "UPDATE passive_case p SET reminder_count = p.reminder_count + v.n "
            "FROM unnest(CAST(:ids AS bigint[]), CAST(:ns AS int[])) AS v(id, n) WHERE p.id = v.id"),
            {"ids": list(per_case), "ns": list(per_case.values())})

    async def next_due_at(self) -> datetime | None:
        stmt = select(CaseTimer.due_at).where(CaseTimer.state == "pending").order_by(CaseTimer.due_at).limit(1)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def timers_of(self, case_id: int) -> Sequence[CaseTimer]:
        stmt = select(CaseTimer).where(CaseTimer.case_id == case_id).order_by(CaseTimer.due_at, CaseTimer.id)
        return (await self.session.execute(stmt)).scalars().all()

    async def policies(self, ids: set[int]) -> Sequence[EscalationPolicy]:
        stmt = select(EscalationPolicy).where(EscalationPolicy.id.in_(list(ids)))
        return (await self.session.execute(stmt)).scalars().all()

    async def community_names(self, ids: set[int]) -> dict[int, str]:
        rows = (await self.session.execute(select(Community.id, Community.name).where(Community.id.in_(list(ids)))))
        return {r.id: r.name for r in rows}

    async def people_with_roles_in(self, roles: Sequence[str], community_ids: set[int]) -> Sequence[Any]:
        """Active people holding one of ``roles``: street roles (community_id None) and community roles
        in ``community_ids``. One row per (person, role, community)."""
        stmt = (select(Person.id, Person.name, Person.mobile, PersonRole.role, PersonRole.community_id)
                .join(PersonRole, PersonRole.person_id == Person.id)
                .where(Person.active.is_(True), PersonRole.role.in_(list(roles)),
                       PersonRole.community_id.is_(None) | PersonRole.community_id.in_(list(community_ids)))
                .order_by(Person.id))
        return (await self.session.execute(stmt)).all()

    async def people(self, ids: set[int]) -> Sequence[Person]:
        stmt = select(Person).where(Person.id.in_(list(ids)), Person.active.is_(True))
        return (await self.session.execute(stmt)).scalars().all()

    async def person(self, person_id: int) -> Person | None:
        return await self.session.get(Person, person_id)

    async def linked_operators_of(self, community_ids: set[int]) -> dict[int, list[int]]:
        stmt = (select(OperatorCommunity.community_id, OperatorCommunity.operator_id)
                .join(Person, Person.id == OperatorCommunity.operator_id)
                .where(OperatorCommunity.community_id.in_(list(community_ids)), Person.active.is_(True))
                .order_by(OperatorCommunity.operator_id))
        out: dict[int, list[int]] = {}
        for row in await self.session.execute(stmt):
            out.setdefault(row.community_id, []).append(row.operator_id)
        return out

    async def add_reminders(self, rows: Sequence[dict[str, Any]]) -> dict[int, int]:
        """Insert fired nodes' reminders; their ids by timer id."""
        # executemany form: compiled once and cached, unlike one giant multi-VALUES statement
        stmt = insert(Reminder).returning(Reminder.id, Reminder.timer_id, sort_by_parameter_order=True)
        result = await self.session.execute(stmt, list(rows))
        return {r.timer_id: r.id for r in result}

    async def add_reminder(self, reminder: Reminder) -> Reminder:
        self.session.add(reminder)
        await self.session.flush()
        return reminder

    async def add_outbox(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(OutboxMessage).on_conflict_do_nothing(
                index_elements=[OutboxMessage.idem_key]), list(rows))

    async def add_tasks(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(OperatorTask).on_conflict_do_nothing(
                constraint="uq_operator_task_reminder_operator"), list(rows))

    async def reminders_of(self, case_id: int) -> Sequence[Reminder]:
        stmt = select(Reminder).where(Reminder.case_id == case_id).order_by(Reminder.id)
        return (await self.session.execute(stmt)).scalars().all()

    async def open_tasks(self, operator_id: int) -> Sequence[OperatorTask]:
        stmt = (select(OperatorTask).where(OperatorTask.operator_id == operator_id, OperatorTask.done_at.is_(None))
                .order_by(OperatorTask.due_at, OperatorTask.id))
        return (await self.session.execute(stmt)).scalars().all()

    async def task(self, task_id: int, *, for_update: bool = False) -> OperatorTask | None:
        stmt = select(OperatorTask).where(OperatorTask.id == task_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()


class PolicyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def active(self) -> Sequence[EscalationPolicy]:
        stmt = select(EscalationPolicy).where(EscalationPolicy.active.is_(True)).order_by(EscalationPolicy.kind)
        return (await self.session.execute(stmt)).scalars().all()

    async def versions(self, kind: str) -> Sequence[EscalationPolicy]:
        stmt = select(EscalationPolicy).where(EscalationPolicy.kind == kind).order_by(EscalationPolicy.version)
        return (await self.session.execute(stmt)).scalars().all()

    async def lock_kind(self, kind: str) -> None:
        """Serialise two edits of one policy (the second builds on the first's version)."""
        await self.session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"policy:{kind}"})

    async def add_version(self, policy: EscalationPolicy) -> EscalationPolicy:
        await self.session.execute(
            update(EscalationPolicy).where(EscalationPolicy.kind == policy.kind, EscalationPolicy.active.is_(True))
            .values(active=False))
        self.session.add(policy)
        await self.session.flush()
        return policy
