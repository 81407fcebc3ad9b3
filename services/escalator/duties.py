"""Calendar duties of SPEC §7 run by the escalator's APScheduler, each exactly once per period.

Every replica schedules every duty; a run first claims ``(duty, period)`` in ``duty_run`` and
only the one that inserts the row does the work, in the same transaction. On start each replica
also runs the latest period it missed (downtime), if still within the duty's catch-up window.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.core.clock import SHANGHAI, Clock
from services.core.db import transaction
from services.core.org.models import Community
from services.core.org.roles import Role
from services.core.org.scope import Principal
from services.core.outbox.duty_models import DutyRun
from services.core.outbox.repository import OutboxRepository
from services.core.outbox.rows import group_message
from services.core.stats import periods
from services.core.stats import service as stats

log = logging.getLogger(__name__)
# The duties act for the street as a whole (they see every community).
SYSTEM = Principal(person_id=0, username="system", name="系统", roles=frozenset({Role.department_supervisor}))

DutyWork = Callable[[AsyncSession, str, datetime], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Duty:
    name: str
    cron: dict[str, Any]  # APScheduler CronTrigger fields, Beijing time
    last_due: Callable[[datetime], tuple[str, datetime]]  # (period, when it fell due) at or before now
    catch_up: timedelta  # a run missed by more than this is no longer worth doing
    work: DutyWork


def _monthly(day: int, hour: int) -> Callable[[datetime], tuple[str, datetime]]:
    def last_due(now: datetime) -> tuple[str, datetime]:
        local = now.astimezone(SHANGHAI)
        due = local.replace(day=day, hour=hour, minute=0, second=0, microsecond=0)
        if due > local:  # not yet this month: last month's
            first = local.replace(day=1)
            prev = first - timedelta(days=1)
            due = prev.replace(day=day, hour=hour, minute=0, second=0, microsecond=0)
        return due.strftime("%Y-%m"), due
    return last_due


async def joint_meeting_reminder(session: AsyncSession, period: str, now: datetime) -> dict[str, Any]:
    """联席会议: "每月 25 日组织各社区召开联席会议" — remind every community's group the day before."""
    communities = (await session.execute(
        select(Community).where(Community.active.is_(True)).order_by(Community.id))).scalars().all()
    text = (f"【大联动·联席会议提醒】{period[:4]}年{int(period[5:])}月25日召开大联动联席会议，"
            "请各社区准备案件情况和整改落实材料。")
    rows = [group_message(f"duty:joint_meeting:{period}:{c.id}", c.id, text, now) for c in communities]
    await OutboxRepository(session).add(rows)
    return {"communities": len(rows)}


def _daily_at(hour: int, minute: int) -> Callable[[datetime], tuple[str, datetime]]:
    """The day before the last ``hour:minute`` (Beijing): a daily duty that looks back at yesterday."""
    def last_due(now: datetime) -> tuple[str, datetime]:
        local = now.astimezone(SHANGHAI)
        due = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if due > local:
            due -= timedelta(days=1)
        return (due - timedelta(days=1)).date().isoformat(), due
    return last_due


def _first_of_month_for_previous(hour: int, minute: int, months: tuple[int, ...] = tuple(range(1, 13))
                                 ) -> Callable[[datetime], tuple[str, datetime]]:
    """The last 1st-of-the-month (of ``months``) at ``hour:minute``; the period is the month (or quarter)
    that ended then."""
    def last_due(now: datetime) -> tuple[str, datetime]:
        local = now.astimezone(SHANGHAI)
        y, m = local.year, local.month
        while True:
            due = local.replace(year=y, month=m, day=1, hour=hour, minute=minute, second=0, microsecond=0)
            if m in months and due <= local:
                break
            y, m = (y - 1, 12) if m == 1 else (y, m - 1)
        py, pm = (y - 1, 12) if m == 1 else (y, m - 1)
        label = f"{py:04d}-{pm:02d}" if len(months) == 12 else f"{py:04d}-Q{(pm - 1) // 3 + 1}"
        return label, due
    return last_due


async def daily_statistics(session: AsyncSession, period: str, now: datetime) -> dict[str, Any]:
    """日统计: yesterday's figures, kept as they were (the run's result is the snapshot)."""
    data = await stats.figures(session, SYSTEM, periods.day(period), now=now)
    return _plain(data)


async def monthly_bulletin(session: AsyncSession, period: str, now: datetime) -> dict[str, Any]:
    """月通报 on the 1st: last month's bulletin kept, and each community's group told its figures."""
    data = await stats.bulletin(session, SYSTEM, periods.month(period), now=now)
    rows = []
    for c in data["communities"]:
        rate = "—" if c["self_handle_rate"] is None else f"{c['self_handle_rate']}%"
        text = (f"【大联动·{period[:4]}年{int(period[5:])}月通报】{c['name']}：上报案件{c['reported']}件，"
                f"有效{c['valid']}件，自发自处率{rate}；被动案件接收{c['received']}件，"
                f"接单超时{c['acceptance_timeouts']}件。")
        rows.append(group_message(f"duty:monthly_bulletin:{period}:{c['community_id']}", c["community_id"], text,
                                  now))
    await OutboxRepository(session).add(rows)
    return {**_plain(data), "notified_communities": len(rows)}


async def quarterly_assessment(session: AsyncSession, period: str, now: datetime) -> dict[str, Any]:
    """季考核: the quarter that just ended is computed as a draft for the staff to check and publish."""
    from services.core.assessment import service as assessment
    from services.core.assessment.config import assessment_config, materials_config
    from services.core.assessment.repository import AssessmentRepository

    existing = await AssessmentRepository(session).quarter(period)
    if existing is not None and existing.status == "published":
        return {"skipped": "published already"}
    row = await assessment.compute_draft(session, period, by=None, now=now, cfg=assessment_config(),
                                         materials=materials_config())
    return {"grid_workers": len((row.result or {}).get("grid_workers", [])), "status": row.status}


async def weekly_patrol_check(session: AsyncSession, period: str, now: datetime) -> dict[str, Any]:
    """巡查 "每周不少于 1 次": on Friday afternoon, a community with no patrol recorded this week is
    reminded in its group, and its linked operators get it on their to-do list."""
    from services.core.records.repository import RecordRepository

    monday = date.fromisoformat(period)
    repo, outbox = RecordRepository(session), OutboxRepository(session)
    communities = (await session.execute(
        select(Community).where(Community.active.is_(True)).order_by(Community.id))).scalars().all()
    missing = []
    for c in communities:
        if await repo.dates(c.id, "patrol", monday, monday + timedelta(days=7)):
            continue
        missing.append(c.name)
        text = f"【大联动·巡查提醒】{c.name}：本周（{monday:%m月%d日}起）尚未录入巡查记录，请于本周内完成巡查并录入。"
        message = await outbox.add_one(group_message(f"duty:weekly_patrol:{period}:{c.id}", c.id, text, now))
        if message is not None:
            await outbox.alert_operators(message, f"本周巡查未录入：{c.name}", now)
    return {"communities_missing": missing}


async def rectification_overdue(session: AsyncSession, period: str, now: datetime) -> dict[str, Any]:
    """整改逾期: every morning each open problem past its deadline is chased in the community's group
    (mentioning its owner); the first time, the linked operators also get it on their to-do list."""
    from services.core.org.models import Person
    from services.core.records.repository import RecordRepository

    outbox = OutboxRepository(session)
    chased = 0
    for problem, community_id in await RecordRepository(session).overdue_problems(date.fromisoformat(period)):
        owner = await session.get(Person, problem.owner_id)
        mobiles = [owner.mobile] if owner is not None and owner.mobile else []
        text = (f"【大联动·整改督办】问题“{problem.description}”整改期限 {problem.deadline_on:%m月%d日} 已过，"
                f"请{owner.name if owner else '责任人'}立即整改并反馈。")
        first = await outbox.add_one(group_message(f"duty:rectification:{problem.id}:first", community_id, text,
                                                    now, mobiles))
        if first is not None:
            await outbox.alert_operators(first, f"整改逾期：{problem.description[:40]}", now)
        else:
            await outbox.add([group_message(f"duty:rectification:{problem.id}:{period}", community_id, text, now,
                                             mobiles)])
        chased += 1
    return {"chased": chased}


def _weekly_friday(hour: int) -> Callable[[datetime], tuple[str, datetime]]:
    """The last Friday ``hour``:00 (Beijing); the period is that week's Monday."""
    def last_due(now: datetime) -> tuple[str, datetime]:
        local = now.astimezone(SHANGHAI)
        due = (local - timedelta(days=(local.weekday() - 4) % 7)).replace(hour=hour, minute=0, second=0,
                                                                          microsecond=0)
        if due > local:
            due -= timedelta(days=7)
        return (due - timedelta(days=4)).date().isoformat(), due
    return last_due


def _daily_today(hour: int) -> Callable[[datetime], tuple[str, datetime]]:
    """The last ``hour``:00 (Beijing); the period is that day."""
    def last_due(now: datetime) -> tuple[str, datetime]:
        local = now.astimezone(SHANGHAI)
        due = local.replace(hour=hour, minute=0, second=0, microsecond=0)
        if due > local:
            due -= timedelta(days=1)
        return due.date().isoformat(), due
    return last_due


def _plain(data: Any) -> Any:
    """JSON-ready (Decimals as strings) for the run's stored result."""
    return json.loads(json.dumps(data, default=str, ensure_ascii=False))


DUTIES: tuple[Duty, ...] = (
    Duty("joint_meeting_reminder", {"day": 24, "hour": 9, "minute": 0}, _monthly(24, 9), timedelta(hours=20),
         joint_meeting_reminder),
    Duty("daily_statistics", {"hour": 0, "minute": 10}, _daily_at(0, 10), timedelta(days=2), daily_statistics),
    Duty("monthly_bulletin", {"day": 1, "hour": 9, "minute": 0}, _first_of_month_for_previous(9, 0),
         timedelta(days=10), monthly_bulletin),
    Duty("quarterly_assessment", {"month": "1,4,7,10", "day": 1, "hour": 9, "minute": 30},
         _first_of_month_for_previous(9, 30, (1, 4, 7, 10)), timedelta(days=20), quarterly_assessment),
    Duty("weekly_patrol_check", {"day_of_week": "fri", "hour": 15, "minute": 0}, _weekly_friday(15),
         timedelta(days=2), weekly_patrol_check),
    Duty("rectification_overdue", {"hour": 9, "minute": 5}, _daily_today(9), timedelta(hours=12),
         rectification_overdue),
)


async def run_duty(sessionmaker: async_sessionmaker[AsyncSession], duty: Duty, period: str, now: datetime) -> bool:
    """Run ``duty`` for ``period`` unless some replica already did; True if this call ran it."""
    async with transaction(sessionmaker) as session:
        claimed = (await session.execute(
            insert(DutyRun).values(duty=duty.name, period=period, started_at=now, result={})
            .on_conflict_do_nothing().returning(DutyRun.duty))).scalar_one_or_none()
        if claimed is None:
            return False
        result = await duty.work(session, period, now)
        await session.execute(update(DutyRun).where(
            DutyRun.duty == duty.name, DutyRun.period == period).values(result=result))
    log.info("duty %s ran for %s: %s", duty.name, period, result)
    return True


async def catch_up(sessionmaker: async_sessionmaker[AsyncSession], clock: Clock,
                   duties: tuple[Duty, ...] = DUTIES) -> list[str]:
    """Run each duty's latest period if it was missed and is still worth running."""
    ran = []
    now = clock.now()
    for duty in duties:
        period, due = duty.last_due(now)
        if now - due <= duty.catch_up and await run_duty(sessionmaker, duty, period, now):
            ran.append(f"{duty.name}:{period}")
    return ran


def schedule(scheduler: Any, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock,
             duties: tuple[Duty, ...] = DUTIES) -> None:
    """Put every duty on an APScheduler (AsyncIOScheduler, Asia/Shanghai)."""
    for duty in duties:
        async def job(d: Duty = duty) -> None:
            now = clock.now()
            await run_duty(sessionmaker, d, d.last_due(now)[0], now)

        scheduler.add_job(job, "cron", id=duty.name, coalesce=True,
                          misfire_grace_time=int(duty.catch_up.total_seconds()), **duty.cron)
