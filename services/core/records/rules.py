"""Compliance of a community's records (SPEC §6), computed, not typed: pure functions.

"巡查 … 每周不少于 1 次，每季度不少于 12 次"; a joint meeting (联席会议) on the 25th of each month; a
monthly evaluation of the law-enforcement forces (下沉执法力量评价); rectifications (整改) closed by
their deadline; monthly, quarterly, half-year and year summaries (总结). From them a materials score
(考核资料) that adds to the community's ranking.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from fractions import Fraction


class RecordKind(StrEnum):
    patrol = "patrol"  # 巡查记录
    patrol_team = "patrol_team"  # 巡查队伍登记: property guards, volunteers, residents' activists (details.members)
    joint_meeting = "joint_meeting"  # 联席会议
    enforcement_evaluation = "enforcement_evaluation"  # 下沉执法力量评价
    summary = "summary"  # 总结 (details.period_type: month | quarter | half_year | year)
    public_info = "public_info"  # 公开信息: 网格划分, 组织架构, 制度 (details.topic)
    app_promotion = "app_promotion"  # "金凤e家" 推广 (details: registered, coverage, participation)


KIND_LABELS = {
    RecordKind.patrol: "巡查记录", RecordKind.patrol_team: "巡查队伍", RecordKind.joint_meeting: "联席会议",
    RecordKind.enforcement_evaluation: "下沉执法力量评价", RecordKind.summary: "工作总结",
    RecordKind.public_info: "公开信息", RecordKind.app_promotion: "金凤e家推广",
}
MEETING_DAY = 25


@dataclass(frozen=True)
class MaterialsConfig:
    """The weights of each register in the materials score, and the score's ceiling in the ranking."""

    patrols_per_week: int = 1
    patrols_per_quarter: int = 12
    weight_patrols: int = 30
    weight_meetings: int = 25
    weight_evaluations: int = 15
    weight_rectifications: int = 15
    weight_summaries: int = 15
    max_score: Decimal = Decimal(10)  # added to the mean of the grid workers' scores (out of 100)
    rectification_penalty: Fraction = Fraction(1, 4)  # of that part, per rectification past its deadline


@dataclass(frozen=True)
class Check:
    name: str  # patrols | meetings | evaluations | rectifications | summaries
    label: str
    weight: int
    fraction: Fraction  # how much of it is met, 0..1
    missing: tuple[str, ...] = ()  # what is missing or late, in words people read
    detail: str = ""


@dataclass(frozen=True)
class Compliance:
    checks: tuple[Check, ...]
    score: Decimal
    notes: tuple[str, ...] = field(default=())


def weeks_in(start: date, end: date, today: date) -> list[tuple[date, date]]:
    """Monday–Sunday weeks that end inside ``[start, end)`` and are over by ``today``."""
    monday = start - timedelta(days=start.weekday())
    out = []
    while monday < end:
        sunday = monday + timedelta(days=6)
        if start <= sunday < end and sunday < today:
            out.append((monday, sunday))
        monday += timedelta(days=7)
    return out


def months_in(start: date, end: date) -> list[date]:
    out, d = [], start.replace(day=1)
    while d < end:
        out.append(d)
        d = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return out


def _next_month(d: date) -> date:
    return date(d.year + (d.month == 12), d.month % 12 + 1, 1)


def compliance(*, start: date, end: date, today: date, patrols: list[date], meetings: list[date],
               evaluations: list[date], summaries: list[tuple[str, date]], overdue_rectifications: list[str],
               cfg: MaterialsConfig = MaterialsConfig()) -> Compliance:
    """What the period's registers hold against what the regulation asks, and the materials score.

    Only what has fallen due by ``today`` is asked: a week not over, a month whose 25th is ahead.
    ``summaries``: (period type, date) pairs; ``overdue_rectifications``: open problems past deadline.
    """
    checks: list[Check] = []
    weeks = weeks_in(start, end, today)
    missing_weeks = [f"{mon:%m-%d}～{sun:%m-%d} 无巡查" for mon, sun in weeks
                     if sum(1 for p in patrols if mon <= p <= sun) < cfg.patrols_per_week]
    quarter_over = end <= today
    count = sum(1 for p in patrols if start <= p < end)
    weekly = Fraction(len(weeks) - len(missing_weeks), len(weeks)) if weeks else Fraction(1)
    needed = cfg.patrols_per_quarter if quarter_over else max(0, len(weeks))  # pro rata while it runs
    total = min(Fraction(1), Fraction(count, needed)) if needed else Fraction(1)
    short = quarter_over and count < cfg.patrols_per_quarter
    extra = [f"本期巡查 {count} 次，少于 {cfg.patrols_per_quarter} 次"] if short else []
    checks.append(Check("patrols", "巡查记录", cfg.weight_patrols, (weekly + total) / 2, tuple(missing_weeks + extra),
                        f"{count} 次巡查，{len(weeks)} 个已结束的周"))

    months = months_in(start, end)
    due_meetings = [m for m in months if m.replace(day=MEETING_DAY) < today]
    missing = [f"{m:%Y-%m} 未召开联席会议" for m in due_meetings
               if not any(x.year == m.year and x.month == m.month for x in meetings)]
    late = [f"{x:%Y-%m-%d} 联席会议晚于 {MEETING_DAY} 日" for x in meetings
            if start <= x < end and x.day > MEETING_DAY]
    checks.append(Check("meetings", "联席会议", cfg.weight_meetings,
                        Fraction(len(due_meetings) - len(missing), len(due_meetings)) if due_meetings else Fraction(1),
                        tuple(missing + late)))

    due_months = [m for m in months if _next_month(m) <= today]
    missing = [f"{m:%Y-%m} 无下沉执法力量评价" for m in due_months
               if not any(x.year == m.year and x.month == m.month for x in evaluations)]
    checks.append(Check("evaluations", "下沉执法力量评价", cfg.weight_evaluations,
                        Fraction(len(due_months) - len(missing), len(due_months)) if due_months else Fraction(1),
                        tuple(missing)))

    penalty = min(Fraction(1), cfg.rectification_penalty * len(overdue_rectifications))
    checks.append(Check("rectifications", "问题整改", cfg.weight_rectifications, 1 - penalty,
                        tuple(f"整改逾期：{p}" for p in overdue_rectifications)))

    wanted = [("month", m, f"{m:%Y-%m} 月度总结") for m in due_months]
    if quarter_over and (end - start).days > 80:
        wanted.append(("quarter", start, f"{start:%Y} 年第 {(start.month - 1) // 3 + 1} 季度总结"))
        if start.month in (4, 10):  # the quarter closes a half-year (and Q4 the year)
            wanted.append(("half_year", start, f"{start:%Y} 年{'上' if start.month == 4 else '下'}半年总结"))
        if start.month == 10:
            wanted.append(("year", start, f"{start:%Y} 年度总结"))
    # A summary is recognised by its type and the month (or quarter) it was written in or for.
    have = {_summary_slot(kind, d) for kind, d in summaries}
    missing = [label for kind, d, label in wanted if _summary_slot(kind, d) not in have]
    checks.append(Check("summaries", "工作总结", cfg.weight_summaries,
                        Fraction(len(wanted) - len(missing), len(wanted)) if wanted else Fraction(1), tuple(missing)))

    weighted = sum((Fraction(c.weight) * c.fraction for c in checks), Fraction(0)) / 100
    score = (cfg.max_score * Decimal(weighted.numerator) / Decimal(weighted.denominator)).quantize(
        Decimal("0.01"), ROUND_HALF_UP)
    return Compliance(tuple(checks), score)


def _summary_slot(kind: str, d: date) -> tuple[str, int, int]:
    if kind == "month":
        return kind, d.year, d.month
    if kind == "quarter":
        return kind, d.year, (d.month - 1) // 3
    if kind == "half_year":
        return kind, d.year, (d.month - 1) // 6
    return kind, d.year, 0


def grids_flagged(problems: list[tuple[int, int | None, int]]) -> dict[int, int]:
    """督查发现网格区域内存在 3 类以上问题的，作为季度考核减分因素: per grid, the inspections that found
    problems of 3 or more categories in it. ``problems``: (inspection id, grid id, category id)."""
    categories: dict[tuple[int, int], set[int]] = {}
    for inspection, grid, category in problems:
        if grid is not None:
            categories.setdefault((inspection, grid), set()).add(category)
    flags: dict[int, int] = {}
    for (_, grid), cats in categories.items():
        if len(cats) >= 3:
            flags[grid] = flags.get(grid, 0) + 1
    return flags
