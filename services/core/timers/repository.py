"""All SQL of timers, policies, reminders, the outbox and operator tasks."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.org.models import Person
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

    async def timers_of(self, case_id: int) -> Sequence[CaseTimer]:
        stmt = select(CaseTimer).where(CaseTimer.case_id == case_id).order_by(CaseTimer.due_at, CaseTimer.id)
        return (await self.session.execute(stmt)).scalars().all()

    async def person(self, person_id: int) -> Person | None:
        return await self.session.get(Person, person_id)

    async def add_reminder(self, reminder: Reminder) -> Reminder:
        self.session.add(reminder)
        await self.session.flush()
        return reminder

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
