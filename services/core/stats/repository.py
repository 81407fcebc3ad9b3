"""The statistics (日统计 月通报) in SQL: one aggregate query per level, whatever the number of cases.

Every indicator's numerator and denominator is written here and in docs/indicators.md; a period is
``[start, end)`` in UTC instants computed from Beijing calendar dates by the service.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# Per grid worker (a person holding a grid). Active cases count by when they were reported; the
# overdue figures count by when they fell due. Overdue: handled after the deadline, or not handled
# and the deadline is before :now ("still open past it").
#   reported            active cases reported in the period (any audit result; 零上报 looks at it)
#   valid               of those, found valid (有效)
#   self_handled_valid  of the valid ones, self-handled (自发自处)
#   invalid / false_cases / pending   of those reported, found invalid / false (虚假) / not yet audited
#   cases_due           the worker's cases whose deadline fell in the period: valid active cases not
#                       self-handled, and passive cases they are responsible for (责任人), not recalled
#   overdue             of cases_due, handled after the deadline or still open past it
_WORKERS = text("""
WITH workers AS (
    SELECT g.grid_worker_id AS person_id, min(g.community_id) AS community_id,
           string_agg(g.name, '、' ORDER BY g.id) AS grids
    FROM grid g WHERE g.grid_worker_id IS NOT NULL
      AND (CAST(:community_ids AS bigint[]) IS NULL OR g.community_id = ANY(CAST(:community_ids AS bigint[])))
    GROUP BY g.grid_worker_id
), a AS (
    SELECT reporter_id AS person_id,
           count(*) FILTER (WHERE reported_at >= :start AND reported_at < :end) AS reported,
           count(*) FILTER (WHERE reported_at >= :start AND reported_at < :end AND audit_status = 'valid') AS valid,
           count(*) FILTER (WHERE reported_at >= :start AND reported_at < :end AND audit_status = 'valid'
                            AND self_handled) AS self_handled_valid,
           count(*) FILTER (WHERE reported_at >= :start AND reported_at < :end AND audit_status = 'invalid')
               AS invalid,
           count(*) FILTER (WHERE reported_at >= :start AND reported_at < :end AND audit_status = 'false')
               AS false_cases,
           count(*) FILTER (WHERE reported_at >= :start AND reported_at < :end AND audit_status = 'pending')
               AS pending,
           count(*) FILTER (WHERE deadline_at >= :start AND deadline_at < :end AND audit_status = 'valid'
                            AND NOT self_handled) AS due,
           count(*) FILTER (WHERE deadline_at >= :start AND deadline_at < :end AND audit_status = 'valid'
                            AND NOT self_handled AND (handled_at > deadline_at
                                                      OR (handled_at IS NULL AND deadline_at < :now))) AS overdue
    FROM active_case
    WHERE (reported_at >= :start AND reported_at < :end) OR (deadline_at >= :start AND deadline_at < :end)
    GROUP BY reporter_id
), p AS (
    SELECT responsible_person_id AS person_id, count(*) AS due,
           count(*) FILTER (WHERE handled_at > deadline_at OR (handled_at IS NULL AND deadline_at < :now)) AS overdue
    FROM passive_case
    WHERE deadline_at >= :start AND deadline_at < :end AND status <> 'recalled' AND responsible_person_id IS NOT NULL
    GROUP BY responsible_person_id
)
SELECT w.person_id, pe.name, w.community_id, c.name AS community_name, w.grids,
       coalesce(a.reported, 0) AS reported, coalesce(a.valid, 0) AS valid,
       coalesce(a.self_handled_valid, 0) AS self_handled_valid, coalesce(a.invalid, 0) AS invalid,
       coalesce(a.false_cases, 0) AS false_cases, coalesce(a.pending, 0) AS pending,
       coalesce(a.due, 0) + coalesce(p.due, 0) AS cases_due,
       coalesce(a.overdue, 0) + coalesce(p.overdue, 0) AS overdue
FROM workers w JOIN person pe ON pe.id = w.person_id JOIN community c ON c.id = w.community_id
LEFT JOIN a ON a.person_id = w.person_id LEFT JOIN p ON p.person_id = w.person_id
ORDER BY c.code, pe.id
""")

# Per community: its grid workers' active cases, and the passive cases dispatched to it.
#   received            passive cases dispatched to the community in the period (分派)
#   accepted            passive cases it accepted in the period (接单)
#   closed              passive cases closed in the period (结案)
#   acceptance_timeouts passive cases dispatched in the period and accepted later than the acceptance limit, or
#                       not accepted at all (still waiting, or returned) once the limit has passed (接单超时)
#   avg_accept_minutes  mean of (accepted_at − dispatched_at) over those accepted, in minutes
#   passive_due / passive_overdue   passive cases of the community whose deadline fell in the period,
#                       and of those, handled after it or still open past it
_COMMUNITIES = text("""
WITH a AS (
    SELECT community_id,
           count(*) AS reported,
           count(*) FILTER (WHERE audit_status = 'valid') AS valid,
           count(*) FILTER (WHERE audit_status = 'valid' AND self_handled) AS self_handled_valid,
           count(*) FILTER (WHERE audit_status = 'false') AS false_cases
    FROM active_case WHERE reported_at >= :start AND reported_at < :end GROUP BY community_id
), p AS (
    SELECT community_id,
           count(*) FILTER (WHERE dispatched_at >= :start AND dispatched_at < :end) AS received,
           count(*) FILTER (WHERE accepted_at >= :start AND accepted_at < :end) AS accepted,
           count(*) FILTER (WHERE closed_at >= :start AND closed_at < :end) AS closed,
           count(*) FILTER (WHERE dispatched_at >= :start AND dispatched_at < :end AND status <> 'recalled'
                            AND (acceptance_timed_out OR (accepted_at IS NULL
                                 AND dispatched_at < CAST(:now AS timestamptz) - CAST(:limit AS interval))))
               AS acceptance_timeouts,
           avg(extract(epoch FROM accepted_at - dispatched_at) / 60)
               FILTER (WHERE accepted_at >= :start AND accepted_at < :end) AS avg_accept_minutes,
           count(*) FILTER (WHERE deadline_at >= :start AND deadline_at < :end AND status <> 'recalled')
               AS passive_due,
           count(*) FILTER (WHERE deadline_at >= :start AND deadline_at < :end AND status <> 'recalled'
                            AND (handled_at > deadline_at OR (handled_at IS NULL AND deadline_at < :now)))
               AS passive_overdue
    FROM passive_case
    -- Only the cases with a moment in the period (each test has its own index), not the whole table.
    WHERE community_id IS NOT NULL
      AND ((dispatched_at >= :start AND dispatched_at < :end) OR (accepted_at >= :start AND accepted_at < :end)
           OR (closed_at >= :start AND closed_at < :end) OR (deadline_at >= :start AND deadline_at < :end))
    GROUP BY community_id
)
SELECT c.id AS community_id, c.code, c.name,
       coalesce(a.reported, 0) AS reported, coalesce(a.valid, 0) AS valid,
       coalesce(a.self_handled_valid, 0) AS self_handled_valid, coalesce(a.false_cases, 0) AS false_cases,
       coalesce(p.received, 0) AS received, coalesce(p.accepted, 0) AS accepted, coalesce(p.closed, 0) AS closed,
       coalesce(p.acceptance_timeouts, 0) AS acceptance_timeouts, p.avg_accept_minutes,
       coalesce(p.passive_due, 0) AS passive_due, coalesce(p.passive_overdue, 0) AS passive_overdue
FROM community c LEFT JOIN a ON a.community_id = c.id LEFT JOIN p ON p.community_id = c.id
WHERE c.active AND (CAST(:community_ids AS bigint[]) IS NULL OR c.id = ANY(CAST(:community_ids AS bigint[])))
ORDER BY c.code
""")


ACCEPTANCE_LIMIT = timedelta(minutes=10)  # SPEC §3; LIANDONG_ACCEPTANCE_TIMEOUT_MINUTES where settings are at hand


class StatsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def grid_workers(self, start: datetime, end: datetime, now: datetime,
                           community_ids: Sequence[int] | None) -> list[dict[str, Any]]:
        rows = await self.session.execute(_WORKERS, {"start": start, "end": end, "now": now,
                                                     "community_ids": list(community_ids) if community_ids is not None
                                                     else None})
        return [dict(r._mapping) for r in rows]

    async def communities(self, start: datetime, end: datetime, now: datetime,
                          community_ids: Sequence[int] | None,
                          acceptance_limit: timedelta = ACCEPTANCE_LIMIT) -> list[dict[str, Any]]:
        rows = await self.session.execute(_COMMUNITIES, {"start": start, "end": end, "now": now,
                                                         "limit": acceptance_limit,
                                                         "community_ids": list(community_ids)
                                                         if community_ids is not None else None})
        return [dict(r._mapping) for r in rows]
