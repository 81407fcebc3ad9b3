"""Compliance of records with worked cases: 11 vs 12 patrols, a month without a meeting, a late rectification."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

from services.core.records.rules import compliance, grids_flagged, weeks_in

Q4 = (date(2026, 10, 1), date(2027, 1, 1))
AFTER = date(2027, 1, 5)


def weekly_patrols(n: int) -> list[date]:
    """One patrol on the Sunday of each of the quarter's weeks, the first ``n`` of them."""
    weeks = weeks_in(*Q4, AFTER)
    return [sun for _, sun in weeks][:n]


def full(**over: object) -> dict[str, object]:
    months = [date(2026, m, 1) for m in (10, 11, 12)]
    base: dict[str, object] = {
        "start": Q4[0], "end": Q4[1], "today": AFTER, "patrols": weekly_patrols(13),
        "meetings": [m.replace(day=25) for m in months], "evaluations": [m.replace(day=28) for m in months],
        "summaries": [("month", m) for m in months] + [("quarter", Q4[0]), ("half_year", Q4[0]), ("year", Q4[0])],
        "overdue_rectifications": []}
    return {**base, **over}


def test_a_complete_quarter_scores_the_full_ten() -> None:
    result = compliance(**full())  # type: ignore[arg-type]
    assert result.score == Decimal("10.00") and all(not c.missing for c in result.checks)
    assert len(weeks_in(*Q4, AFTER)) == 13


def test_eleven_patrols_are_short_of_twelve() -> None:
    patrols = weekly_patrols(11)
    result = compliance(**full(patrols=patrols))  # type: ignore[arg-type]
    check = next(c for c in result.checks if c.name == "patrols")
    assert "本期巡查 11 次，少于 12 次" in check.missing and len([m for m in check.missing if "无巡查" in m]) == 2
    assert result.score < Decimal(10)
    twelve = compliance(**full(patrols=[*weekly_patrols(12), date(2026, 12, 30)]))  # type: ignore[arg-type]
    assert not any("少于" in m for c in twelve.checks for m in c.missing)


def test_a_month_without_a_meeting_and_a_late_one() -> None:
    result = compliance(**full(meetings=[date(2026, 10, 25), date(2026, 12, 27)]))  # type: ignore[arg-type]
    check = next(c for c in result.checks if c.name == "meetings")
    assert check.missing == ("2026-11 未召开联席会议", "2026-12-27 联席会议晚于 25 日")
    assert check.fraction == Fraction(2, 3)


def test_a_rectification_past_due_costs_a_quarter_of_its_part() -> None:
    result = compliance(**full(overdue_rectifications=["宝湖路井盖破损（期限 12-20）"]))  # type: ignore[arg-type]
    assert result.score == Decimal("9.63")  # 10 × (100 − 15 × 1/4) / 100 = 9.625 → 9.63


def test_only_what_has_fallen_due_is_asked() -> None:
    mid = compliance(**full(today=date(2026, 11, 10), patrols=weekly_patrols(6), meetings=[date(2026, 10, 25)],
                            evaluations=[date(2026, 10, 28)], summaries=[("month", date(2026, 10, 1))]))  # type: ignore[arg-type]
    assert mid.score == Decimal("10.00")  # November's meeting (25th) and summary are not due yet


def test_three_categories_in_one_grid_flag_it() -> None:
    flags = grids_flagged([(1, 10, 100), (1, 10, 101), (1, 10, 102), (1, 11, 100), (1, 11, 101),
                           (2, 10, 100), (2, 10, 100), (2, 10, 101), (3, None, 1)])
    assert flags == {10: 1}


def test_q4_also_asks_for_the_half_year_and_the_year() -> None:
    months = [date(2026, m, 1) for m in (10, 11, 12)]
    result = compliance(**full(summaries=[("month", m) for m in months] + [("quarter", Q4[0])]))  # type: ignore[arg-type]
    check = next(c for c in result.checks if c.name == "summaries")
    assert check.missing == ("2026 年下半年总结", "2026 年度总结")
