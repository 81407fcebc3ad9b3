"""Periods on the Asia/Shanghai calendar: a day, a month, a quarter, as UTC instants [start, end)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time

from services.core.clock import SHANGHAI
from services.core.errors import InvalidInput


@dataclass(frozen=True)
class Period:
    label: str  # 2026-12-04, 2026-12, 2026-Q4
    start: datetime
    end: datetime


YEARS = range(2000, 2101)  # the platform's calendar; outside it a period is a typing error


def _year(y: int, field: str) -> None:
    if y not in YEARS:
        raise InvalidInput(field, f"a year from {YEARS.start} to {YEARS.stop - 1}")


def _at(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=SHANGHAI)


def day(value: str, field: str = "date") -> Period:
    try:
        d = date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(field, "a date like 2026-12-04") from None
    _year(d.year, field)
    return Period(d.isoformat(), _at(d), _at(date.fromordinal(d.toordinal() + 1)))


def month(value: str, field: str = "month") -> Period:
    m = re.fullmatch(r"(\d{4})-(\d{2})", value)
    if not m or not 1 <= int(m[2]) <= 12:
        raise InvalidInput(field, "a month like 2026-12")
    y, mo = int(m[1]), int(m[2])
    _year(y, field)
    nxt = date(y + (mo == 12), mo % 12 + 1, 1)
    return Period(f"{y:04d}-{mo:02d}", _at(date(y, mo, 1)), _at(nxt))


def previous_month(p: Period) -> Period:
    y, mo = int(p.label[:4]), int(p.label[5:7])
    return month(f"{max(YEARS.start, y - (mo == 1)):04d}-{(mo - 2) % 12 + 1:02d}")


def quarter(value: str, field: str = "quarter") -> Period:
    m = re.fullmatch(r"(\d{4})-Q([1-4])", value)
    if not m:
        raise InvalidInput(field, "a quarter like 2026-Q4")
    y, q = int(m[1]), int(m[2])
    _year(y, field)
    first = date(y, 3 * q - 2, 1)
    nxt = date(y + (q == 4), (3 * q) % 12 + 1, 1)
    return Period(f"{y:04d}-Q{q}", _at(first), _at(nxt))


def months_of(q: Period) -> list[Period]:
    y, first = int(q.label[:4]), 3 * int(q.label[-1]) - 2
    return [month(f"{y:04d}-{first + i:02d}") for i in range(3)]
