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
    assert await catch_up(sessionmaker, api.clock) == ["joint_meeting_reminder:2026-12"]
    assert await catch_up(sessionmaker, api.clock) == []
    assert await run_duty(sessionmaker, duty, "2026-12", api.clock.now()) is False  # the scheduled run
    rows = (await api.session.execute(select(OutboxMessage).where(
        OutboxMessage.idem_key.like("duty:joint_meeting:2026-12:%")))).scalars().all()
    assert len(rows) == 3 and "2026年12月25日召开大联动联席会议" in rows[0].message["text"]

    # Down until after the meeting: a reminder for it is no use any more.
    api.clock.set(datetime(2027, 1, 25, 10, 0, tzinfo=SHANGHAI))
    assert await catch_up(sessionmaker, api.clock) == []
