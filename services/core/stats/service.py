"""Daily statistics and the monthly bulletin (日统计 月通报): figures per community and grid worker, in scope.

Indicators (also in docs/indicators.md):
- self-handle rate 自发自处率 = self-handled valid cases / valid cases reported in the period;
- overdue rate 超期率 = cases due in the period that were handled after their deadline or are still
  open past it / cases due in the period (a grid worker's: valid active cases not self-handled, and
  passive cases they are responsible for);
- average acceptance time 平均接单用时 = mean of (accepted − dispatched) over the passive cases
  accepted in the period, in minutes.
A rate with a zero denominator is null (shown as "—"), never 0% or 100%.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.core.org.roles import Role
from services.core.org.scope import Principal
from services.core.stats.periods import Period, previous_month
from services.core.stats.repository import ACCEPTANCE_LIMIT, StatsRepository

CENT = Decimal("0.01")


def rate(numerator: int, denominator: int) -> Decimal | None:
    """A percentage to two places (ROUND_HALF_UP), or None without a denominator."""
    if not denominator:
        return None
    return (Decimal(numerator) * 100 / Decimal(denominator)).quantize(CENT, ROUND_HALF_UP)


def _scope(principal: Principal) -> tuple[list[int] | None, int | None]:
    """(communities visible, or None for all; a person to narrow grid workers to, or None)."""
    if principal.street_wide:
        return None, None
    ids = {cid for role, cid in principal.community_roles if role != Role.grid_worker}
    if principal.is_operator:
        ids |= set(principal.linked_community_ids)
    if ids:
        return sorted(ids), None
    own = [cid for role, cid in principal.community_roles if role == Role.grid_worker]
    return sorted(set(own)), principal.person_id  # a grid worker sees their own line


def _with_rates(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    out["self_handle_rate"] = rate(row["self_handled_valid"], row["valid"])
    if "cases_due" in row:
        out["overdue_rate"] = rate(row["overdue"], row["cases_due"])
    if "passive_due" in row:
        out["overdue_rate"] = rate(row["passive_overdue"], row["passive_due"])
        avg = row.get("avg_accept_minutes")
        out["avg_accept_minutes"] = None if avg is None else Decimal(str(avg)).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return out


async def figures(session: AsyncSession, principal: Principal, period: Period, *, now: datetime,
                  acceptance_limit: timedelta = ACCEPTANCE_LIMIT) -> dict[str, Any]:
    """Communities and grid workers for ``period``, within the asker's scope."""
    communities, person = _scope(principal)
    repo = StatsRepository(session)
    workers = await repo.grid_workers(period.start, period.end, now, communities)
    if person is not None:
        workers = [w for w in workers if w["person_id"] == person]
        community_rows: list[dict[str, Any]] = []
    else:
        community_rows = await repo.communities(period.start, period.end, now, communities, acceptance_limit)
    return {"period": period.label, "communities": [_with_rates(c) for c in community_rows],
            "grid_workers": [_with_rates(w) for w in workers]}


async def bulletin(session: AsyncSession, principal: Principal, period: Period, *, now: datetime,
                   acceptance_limit: timedelta = ACCEPTANCE_LIMIT) -> dict[str, Any]:
    """月通报: the month's figures with the previous month's beside each line (month over month)."""
    this = await figures(session, principal, period, now=now, acceptance_limit=acceptance_limit)
    before = await figures(session, principal, previous_month(period), now=now, acceptance_limit=acceptance_limit)
    prev_c = {c["community_id"]: c for c in before["communities"]}
    prev_w = {w["person_id"]: w for w in before["grid_workers"]}
    for c in this["communities"]:
        c["previous"] = prev_c.get(c["community_id"])
    for w in this["grid_workers"]:
        w["previous"] = prev_w.get(w["person_id"])
    this["previous_period"] = before["period"]
    return this
