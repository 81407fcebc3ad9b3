"""Calendar duties: once per period across replicas and restarts; missed runs caught up in time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from services.core.clock import SHANGHAI
from services.core.outbox.models import OutboxMessage
from services.escalator.duties import DUTIES, catch_up, run_duty
from tests.helpers import Api


async def test_joint_meeting_reminder_runs_once_per_month(api: Api) -> None:
    sessionmaker = async_sessionmaker(bind=api.session.bind, join_transaction_mode="create_savepoint",
                                      expire_on_commit=False)
    duty = DUTIES[0]
    assert duty.last_due(datetime(2026, 12, 24, 8, 59, tzinfo=SHANGHAI))[0] == "2026-11"
    assert duty.last_due(datetime(2026, 12, 24, 9, 0, tzinfo=SHANGHAI)) == (
        "2026-12", datetime(2026, 12, 24, 9, 0, tzinfo=SHANGHAI))
    assert duty.last_due(datetime(2027, 1, 3, tzinfo=SHANGHAI))[0] == "2026-12"

    # Down over the 24th 09:00: the first replica to start catches up; the others find it done.
    api.clock.set(datetime(2026, 12, 24, 11, 0, tzinfo=SHANGHAI))
    assert await catch_up(sessionmaker, api.clock, (duty,)) == ["joint_meeting_reminder:2026-12"]
    assert await catch_up(sessionmaker, api.clock, (duty,)) == []
    assert await run_duty(sessionmaker, duty, "2026-12", api.clock.now()) is False  # the scheduled run
    rows = (await api.session.execute(select(OutboxMessage).where(
        OutboxMessage.idem_key.like("duty:joint_meeting:2026-12:%")))).scalars().all()
    assert len(rows) == 3 and "2026年12月25日召开大联动联席会议" in rows[0].message["text"]

    # Down until after the meeting: a reminder for it is no use any more.
    api.clock.set(datetime(2027, 1, 25, 10, 0, tzinfo=SHANGHAI))
    assert await catch_up(sessionmaker, api.clock, (duty,)) == []


def by_name(name: str) -> object:
    return next(d for d in DUTIES if d.name == name)


async def test_statistics_duties_keep_snapshots_and_tell_the_communities(api: Api) -> None:
    sessionmaker = async_sessionmaker(bind=api.session.bind, join_transaction_mode="create_savepoint",
                                      expire_on_commit=False)
    daily, monthly, quarterly = (by_name(n) for n in ("daily_statistics", "monthly_bulletin",
                                                       "quarterly_assessment"))
    assert daily.last_due(datetime(2026, 12, 4, 0, 9, tzinfo=SHANGHAI))[0] == "2026-12-02"  # type: ignore[attr-defined]
    assert daily.last_due(datetime(2026, 12, 4, 0, 10, tzinfo=SHANGHAI))[0] == "2026-12-03"  # type: ignore[attr-defined]
    assert monthly.last_due(datetime(2027, 1, 1, 9, 0, tzinfo=SHANGHAI))[0] == "2026-12"  # type: ignore[attr-defined]
    assert monthly.last_due(datetime(2027, 1, 1, 8, 59, tzinfo=SHANGHAI))[0] == "2026-11"  # type: ignore[attr-defined]
    assert quarterly.last_due(datetime(2027, 1, 5, tzinfo=SHANGHAI)) == (  # type: ignore[attr-defined]
        "2026-Q4", datetime(2027, 1, 1, 9, 30, tzinfo=SHANGHAI))
    assert quarterly.last_due(datetime(2026, 12, 4, tzinfo=SHANGHAI))[0] == "2026-Q3"  # type: ignore[attr-defined]

    # Down over new year's morning: on start, the day's statistics, December's bulletin and Q4's draft.
    api.clock.set(datetime(2027, 1, 1, 11, 0, tzinfo=SHANGHAI))
    ran = await catch_up(sessionmaker, api.clock)
    assert ran == ["daily_statistics:2026-12-31", "monthly_bulletin:2026-12", "quarterly_assessment:2026-Q4",
                   "rectification_overdue:2027-01-01"]
    assert await catch_up(sessionmaker, api.clock) == []  # once
    rows = (await api.session.execute(select(OutboxMessage).where(
        OutboxMessage.idem_key.like("duty:monthly_bulletin:2026-12:%")))).scalars().all()
    assert len(rows) == 3 and "2026年12月通报" in rows[0].message["text"]
    from services.core.outbox.duty_models import DutyRun

    snapshot = (await api.session.execute(select(DutyRun.result).where(
        DutyRun.duty == "daily_statistics", DutyRun.period == "2026-12-31"))).scalar_one()
    assert snapshot["period"] == "2026-12-31" and len(snapshot["communities"]) == 3
    draft = (await api.get("/api/v1/assessments/2026-Q4", "supervisor")).json()
    assert draft["status"] == "draft" and draft["history"][0] == {"at": draft["history"][0]["at"], "by": None,
                                                                  "action": "compute"}


async def test_patrol_and_rectification_duties_chase_and_tell_operators(api: Api) -> None:
    from services.core.timers.models import OperatorTask
    from tests.integration.test_records import inspect, record

    sessionmaker = async_sessionmaker(bind=api.session.bind, join_transaction_mode="create_savepoint",
                                      expire_on_commit=False)
    weekly, overdue = by_name("weekly_patrol_check"), by_name("rectification_overdue")
    friday = datetime(2026, 12, 4, 15, 30, tzinfo=SHANGHAI)  # a Friday
    assert weekly.last_due(friday) == ("2026-11-30", datetime(2026, 12, 4, 15, 0, tzinfo=SHANGHAI))  # type: ignore[attr-defined]
    assert weekly.last_due(datetime(2026, 12, 4, 14, 0, tzinfo=SHANGHAI))[0] == "2026-11-23"  # type: ignore[attr-defined]

    assert (await record(api, occurred_on="2026-12-02")).status_code == 201  # BJZL-01 patrolled this week
    assert (await inspect(api)).status_code == 201  # three problems, deadline 11-20, open
    api.clock.set(friday)
    assert await catch_up(sessionmaker, api.clock, (weekly, overdue)) == [  # type: ignore[arg-type]
        "weekly_patrol_check:2026-11-30", "rectification_overdue:2026-12-04"]
    rows = (await api.session.execute(select(OutboxMessage).where(
        OutboxMessage.idem_key.like("duty:weekly_patrol:2026-11-30:%")))).scalars().all()
    assert len(rows) == 2 and all("宝湖社区" not in r.message["text"] for r in rows)  # BJZL-02 and -03
    chased = (await api.session.execute(select(OutboxMessage).where(
        OutboxMessage.idem_key.like("duty:rectification:%:first")))).scalars().all()
    assert len(chased) == 3 and chased[0].recipient["mentioned_mobiles"]  # the owner is @-mentioned
    tasks = (await api.get("/api/v1/tasks", "operator1")).json()
    labels = [t["label"] for t in tasks]
    assert sum(label.startswith("整改逾期") for label in labels) == 3
    assert "本周巡查未录入：长城花园社区" in labels  # operator1 is linked to BJZL-01 and -02

    api.clock.set(datetime(2026, 12, 5, 9, 30, tzinfo=SHANGHAI))  # the next morning: chased again, no new tasks
    assert await catch_up(sessionmaker, api.clock, (overdue,)) == ["rectification_overdue:2026-12-05"]  # type: ignore[arg-type]
    again = (await api.session.execute(select(OutboxMessage).where(
        OutboxMessage.idem_key.like("duty:rectification:%:2026-12-05")))).scalars().all()
    assert len(again) == 3
    count = len((await api.session.execute(select(OperatorTask).where(
        OperatorTask.label.like("整改逾期%")))).scalars().all())
    assert count == 3 * 1  # one operator linked to BJZL-01, once per problem
