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
    assert ran == ["daily_statistics:2026-12-31", "monthly_bulletin:2026-12", "quarterly_assessment:2026-Q4"]
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
