"""The escalator's hot path in plain SQL on the session's own asyncpg connection.

A batch is five statements whatever its size: claim the due timers, lock their cases, read the
policies, read the people the nodes reach, then write reminders, outbox rows, call tasks, reminder
counts and timer states (one statement of data-modifying CTEs). Arrays go in through ``unnest``;
JSON goes in as text and is cast in SQL, so no ORM object is built per timer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# The due timers; SKIP LOCKED: replicas take disjoint rows.
_CLAIM = text("""
SELECT id, case_id, generation, node_key, policy_id, due_at FROM case_timer
WHERE state = 'pending' AND due_at <= :now ORDER BY due_at, id LIMIT :limit FOR UPDATE SKIP LOCKED
""")

# Their cases, locked in id order (ORDER BY is applied before the lock, so two replicas never lock
# cases in opposite orders). A separate statement on purpose: a case lock that waits inside the
# claim statement would re-run the claim under EvalPlanQual and could take a timer just fired.
_LOCK_CASES = """
SELECT c.id, c.timer_generation, c.status, c.community_id, c.responsible_person_id, c.district_case_id, c.title,
       c.dispatched_at, c.deadline_at, c.trace_id, cm.name AS community_name
FROM passive_case c LEFT JOIN community cm ON cm.id = c.community_id
WHERE c.id = ANY($1::bigint[]) ORDER BY c.id FOR UPDATE OF c
"""

_POLICIES = "SELECT id, kind, nodes::text AS nodes, quiet_hours::text AS quiet_hours FROM escalation_policy " \
            "WHERE id = ANY($1::bigint[])"

# Everyone a batch may reach, in one round trip: people by role (street-wide roles have no
# community), the cases' responsible persons, and the operators linked to the communities.
_PEOPLE = """
SELECT 'role' AS kind, p.id, p.name, p.mobile, p.wecom_userid, r.role, r.community_id
FROM person p JOIN person_role r ON r.person_id = p.id
WHERE p.active AND r.role = ANY($1::text[]) AND (r.community_id IS NULL OR r.community_id = ANY($2::bigint[]))
UNION ALL
SELECT 'responsible', p.id, p.name, p.mobile, p.wecom_userid, NULL, NULL
FROM person p WHERE p.active AND p.id = ANY($3::bigint[])
UNION ALL
SELECT 'operator', p.id, p.name, p.mobile, p.wecom_userid, NULL, oc.community_id
FROM operator_community oc JOIN person p ON p.id = oc.operator_id
WHERE $4 AND p.active AND oc.community_id = ANY($2::bigint[])
ORDER BY 2
"""

# Everything a batch writes, in one statement. Reminders first: the outbox rows and call tasks
# join them on timer id for their reminder id; the outbox rows copy their case's trace id. The
# unique keys (reminder per timer, outbox idem_key, task per reminder and operator) make a second
# write of the same node impossible.
_WRITE = """
WITH r AS (
    INSERT INTO reminder (case_id, timer_id, kind, node_key, label, channels, recipients, occurred_at)
    SELECT v.case_id, v.timer_id, 'auto', v.node_key, v.label, v.channels::jsonb, v.recipients::jsonb, $1
    FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[])
         AS v(case_id, timer_id, node_key, label, channels, recipients)
    RETURNING id, timer_id
), o AS (
    INSERT INTO outbox (idem_key, channel, recipient, message, case_id, reminder_id, state, attempts,
                        next_attempt_at, created_at, trace_id)
    SELECT m.idem_key, m.channel, m.recipient::jsonb, m.message::jsonb, m.case_id, r.id, 'pending', 0, $1, $1,
           pc.trace_id
    FROM unnest($8::bigint[], $9::text[], $10::text[], $11::text[], $12::text[], $13::bigint[])
         AS m(timer_id, idem_key, channel, recipient, message, case_id)
    JOIN r ON r.timer_id = m.timer_id
    LEFT JOIN passive_case pc ON pc.id = m.case_id
    ON CONFLICT (idem_key) DO NOTHING
    RETURNING 1
), k AS (
    INSERT INTO operator_task (case_id, reminder_id, operator_id, label, call_person_ids, due_at)
    SELECT k.case_id, r.id, k.operator_id, k.label, k.call_person_ids::jsonb, k.due_at
    FROM unnest($14::bigint[], $15::bigint[], $16::bigint[], $17::text[], $18::text[], $19::timestamptz[])
         AS k(timer_id, case_id, operator_id, label, call_person_ids, due_at)
    JOIN r ON r.timer_id = k.timer_id
    ON CONFLICT ON CONSTRAINT uq_operator_task_reminder_operator DO NOTHING
), c AS (
    UPDATE passive_case p SET reminder_count = p.reminder_count + v.n
    FROM (SELECT id, count(*) AS n FROM unnest($2::bigint[]) AS id GROUP BY id) v WHERE p.id = v.id
), t AS (
    UPDATE case_timer t SET state = v.state, fired_at = $1, skip_reason = v.reason
    FROM unnest($20::bigint[], $21::text[], $22::text[]) AS v(id, state, reason) WHERE t.id = v.id
)
SELECT (SELECT count(*) FROM r) AS reminders, (SELECT count(*) FROM o) AS messages,
       (SELECT pg_notify('liandong_outbox', '') WHERE EXISTS (SELECT 1 FROM o)) AS woke_notifier
"""

_NEXT_DUE = text("SELECT due_at FROM case_timer WHERE state = 'pending' ORDER BY due_at LIMIT 1")


class Writes:
    """The columns of one batch's writes, as parallel lists (one ``unnest`` argument each)."""

    def __init__(self) -> None:
        # case_id, timer_id, node_key, label, channels, recipients
        self.reminders: tuple[list[Any], ...] = tuple([] for _ in range(6))
        # timer_id, idem_key, channel, recipient, message, case_id
        self.outbox: tuple[list[Any], ...] = tuple([] for _ in range(6))
        # timer_id, case_id, operator_id, label, call_person_ids, due_at
        self.tasks: tuple[list[Any], ...] = tuple([] for _ in range(6))
        # id, state, reason
        self.timers: tuple[list[Any], ...] = tuple([] for _ in range(3))


class FiringRepository:
    """Claims through the session (which opens its transaction: the adapter begins lazily, on the
    first statement it runs itself), the rest on the same connection through asyncpg directly."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.conn: asyncpg.Connection | None = None

    async def claim(self, now: datetime, limit: int) -> list[dict[str, Any]]:
        rows = await self.session.execute(_CLAIM, {"now": now, "limit": limit})
        out = [dict(r._mapping) for r in rows]
        raw = await (await self.session.connection()).get_raw_connection()
        self.conn = raw.driver_connection
        return out

    @property
    def _conn(self) -> asyncpg.Connection:
        assert self.conn is not None, "claim first: it opens the transaction"
        return self.conn

    async def lock_cases(self, case_ids: set[int]) -> dict[int, asyncpg.Record]:
        return {r["id"]: r for r in await self._conn.fetch(_LOCK_CASES, sorted(case_ids))}

    async def policies(self, ids: Sequence[int]) -> Sequence[asyncpg.Record]:
        return await self._conn.fetch(_POLICIES, list(ids))

    async def people(self, roles: Sequence[str], community_ids: Sequence[int], responsible_ids: Sequence[int],
                     with_operators: bool) -> Sequence[asyncpg.Record]:
        return await self._conn.fetch(_PEOPLE, list(roles), list(community_ids), list(responsible_ids),
                                     with_operators)

    async def write(self, now: datetime, w: Writes) -> tuple[int, int]:
        """All of a batch's writes; (reminders, outbox rows) written."""
        row = await self._conn.fetchrow(_WRITE, now, *w.reminders, *w.outbox, *w.tasks, *w.timers)
        assert row is not None
        return int(row["reminders"]), int(row["messages"])

    async def next_due_at(self) -> datetime | None:
        due: datetime | None = (await self.session.execute(_NEXT_DUE)).scalar_one_or_none()
        return due
