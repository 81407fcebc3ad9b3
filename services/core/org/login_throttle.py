"""Login throttling: too many failures for one account, or from one address, within a sliding window
lock it out until the window frees (or an administrator releases the account). A success clears the
account's failures. The failures are counted in Postgres, so every api replica sees the same."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.errors import AppError
from services.core.org.models import LoginFailure


class LoginLocked(AppError):
    status_code = 429
    code = "login_locked"


@dataclass(frozen=True)
class Throttle:
    window: timedelta = timedelta(minutes=15)
    per_account: int = 5
    per_address: int = 20


async def check(session: AsyncSession, username: str, address: str, now: datetime, t: Throttle) -> None:
    """429 with the time it frees when the account or the address has used up its failures."""
    since = now - t.window
    for column, value, limit, what in ((LoginFailure.username, username, t.per_account, "this account"),
                                       (LoginFailure.address, address, t.per_address, "this address")):
        failures = (await session.execute(select(func.count()).where(
            column == value, LoginFailure.at > since))).scalar_one()
        if failures >= limit:
            # The oldest failure in the window leaves it first; then one more attempt is allowed.
            oldest = (await session.execute(select(LoginFailure.at).where(column == value, LoginFailure.at > since)
                                            .order_by(LoginFailure.at.desc()).offset(limit - 1).limit(1))
                      ).scalar_one()
            free_at = oldest + t.window
            seconds = max(1, int((free_at - now).total_seconds()) + 1)
            raise LoginLocked(f"too many failed logins for {what}; try again in {seconds} s",
                              details={"retry_after": seconds})


async def record_failure(session: AsyncSession, username: str, address: str, now: datetime) -> None:
    session.add(LoginFailure(username=username[:64], address=address[:64], at=now))
    await session.flush()


async def clear(session: AsyncSession, username: str) -> int:
    """A success, or an administrator's release: the account's failures are forgotten."""
    result = await session.execute(delete(LoginFailure).where(LoginFailure.username == username))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
