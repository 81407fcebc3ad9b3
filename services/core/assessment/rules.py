"""The quarterly assessment of grid workers (工作考核, SPEC §4) as pure functions.

"考核实行季度考核制度，以金凤区绩效考核实际发放金额为准，实行百分制。" Each month a grid worker earns
components of a 100-point score; each component is also that share of the performance pay the
district actually paid them for the month. Every result carries its explanation: which rule gave
or withheld which part, with the numbers it used.

Components (per month):
- case volume 案件量, 25: valid cases reported ≥ 80 → full, else 0;
- self-handle rate 自发自处率, 30: self-handled valid cases / valid cases ≥ 25% → full, else 0;
- overdue 超期案件, 20: overdue rate ≥ 1% → 0, else full ("当月超期案件≥1%，此项不予发放");
- quality 案件质量, 20: the score the street sub-center staff enter, 0–20;
- unassigned, 5: the regulation's parts add up to 95; the rest is configurable, full by default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from fractions import Fraction

from services.core.assessment.money import apportion

HUNDRED = Decimal(100)
CENT = Decimal("0.01")


class Component(StrEnum):
    volume = "volume"  # 案件量
    self_handle = "self_handle"  # 自发自处率
    overdue = "overdue"  # 超期案件
    quality = "quality"  # 案件质量
    unassigned = "unassigned"  # the 5% the regulation does not name


COMPONENT_LABELS = {Component.volume: "案件量", Component.self_handle: "自发自处率", Component.overdue: "超期案件",
                    Component.quality: "案件质量", Component.unassigned: "其他（未列明）"}


class Veto(StrEnum):
    false_case = "false_case"  # 上报虚假案件
    conduct = "conduct"  # 个人存在行风效能问题
    zero_reports = "zero_reports"  # 零上报


VETO_LABELS = {Veto.false_case: "上报虚假案件", Veto.conduct: "行风效能问题", Veto.zero_reports: "零上报"}


@dataclass(frozen=True)
class AssessmentConfig:
    """The numbers of SPEC §4, the regulation's values by default."""

    volume_weight: int = 25
    volume_min_valid_cases: int = 80
    self_handle_weight: int = 30
    self_handle_min_rate: Fraction = Fraction(25, 100)
    overdue_weight: int = 20
    overdue_max_rate: Fraction = Fraction(1, 100)  # a rate at or above this loses the component
    quality_weight: int = 20
    unassigned_weight: int = 5
    unassigned_full: bool = True  # the text names no rule for the last 5%: full unless configured
    rollup: str = "mean"  # quarterly score from the months: "mean" (default) or "min"
    zero_reports_scope: str = "quarter"  # "quarter": no report in the whole quarter; "month": in any month
    inspection_deduction: Decimal = Decimal(2)  # points off per inspection flagging the grid (3+ categories)
    acceptance_timeout_deduction: Decimal = Decimal("0.5")  # community points off per 接单超时

    def __post_init__(self) -> None:
        total = (self.volume_weight + self.self_handle_weight + self.overdue_weight + self.quality_weight
                 + self.unassigned_weight)
        if total != 100:
            raise ValueError(f"component weights must add up to 100, not {total}")
        if self.rollup not in ("mean", "min"):
            raise ValueError("rollup is 'mean' or 'min'")
        if self.zero_reports_scope not in ("quarter", "month"):
            raise ValueError("zero_reports_scope is 'quarter' or 'month'")


@dataclass(frozen=True)
class MonthFigures:
    """One grid worker's month, as the statistics and the staff's entries give it."""

    month: str  # YYYY-MM
    reported_cases: int  # every case reported, valid or not (零上报 looks at these)
    valid_cases: int
    self_handled_valid_cases: int
    cases_due: int  # valid cases whose deadline fell in the month (the overdue denominator)
    overdue_cases: int  # of those, handled after the deadline or still open past it
    quality_score: Decimal | None  # 0–20, entered by the sub-center staff; None: not entered yet
    paid_fen: int  # the performance pay the district actually paid for the month


@dataclass(frozen=True)
class ComponentResult:
    component: Component
    weight: int
    points: Decimal
    pay_fen: int
    reason: str  # why it was given or withheld, with the numbers


@dataclass(frozen=True)
class MonthResult:
    month: str
    score: Decimal
    paid_fen: int
    pay_fen: int
    components: tuple[ComponentResult, ...]


@dataclass(frozen=True)
class QuarterInput:
    months: tuple[MonthFigures, ...]
    false_cases: int = 0
    conduct_problem: str | None = None  # the reason, when the staff recorded one
    inspection_flags: int = 0  # inspections that found 3+ categories of problems in the worker's grid


@dataclass(frozen=True)
class QuarterResult:
    score: Decimal  # after deductions, never below 0
    score_before_deductions: Decimal
    deductions: Decimal
    pay_fen: int  # 0 when vetoed
    vetoes: tuple[tuple[Veto, str], ...]  # (which, why)
    months: tuple[MonthResult, ...]
    explanation: tuple[str, ...] = field(default=())

    @property
    def vetoed(self) -> bool:
        return bool(self.vetoes)


def _rate(numerator: int, denominator: int) -> Fraction | None:
    return Fraction(numerator, denominator) if denominator else None


def _pct(rate: Fraction) -> str:
    return f"{(Decimal(rate.numerator) / Decimal(rate.denominator) * HUNDRED).quantize(CENT)}%"


def assess_month(m: MonthFigures, cfg: AssessmentConfig = AssessmentConfig()) -> MonthResult:
    """One month's score (百分制) and pay: each component all or nothing, quality as entered."""
    parts: list[tuple[Component, int, Decimal, str]] = []
    ok = m.valid_cases >= cfg.volume_min_valid_cases
    parts.append((Component.volume, cfg.volume_weight, Decimal(cfg.volume_weight if ok else 0),
                  f"有效案件 {m.valid_cases} 件 {'≥' if ok else '<'} {cfg.volume_min_valid_cases} 件"))

    rate = _rate(m.self_handled_valid_cases, m.valid_cases)
    ok = rate is not None and rate >= cfg.self_handle_min_rate
    shown = "无有效案件" if rate is None else f"{m.self_handled_valid_cases}/{m.valid_cases} = {_pct(rate)}"
    parts.append((Component.self_handle, cfg.self_handle_weight, Decimal(cfg.self_handle_weight if ok else 0),
                  f"自发自处率 {shown} {'≥' if ok else '<'} {_pct(cfg.self_handle_min_rate)}"))

    rate = _rate(m.overdue_cases, m.cases_due)
    ok = rate is None or rate < cfg.overdue_max_rate
    shown = "当月无到期案件" if rate is None else f"{m.overdue_cases}/{m.cases_due} = {_pct(rate)}"
    parts.append((Component.overdue, cfg.overdue_weight, Decimal(cfg.overdue_weight if ok else 0),
                  f"超期率 {shown} {'<' if ok else '≥'} {_pct(cfg.overdue_max_rate)}"))

    if m.quality_score is None:
        parts.append((Component.quality, cfg.quality_weight, Decimal(0), "案件质量分未录入，按 0 分计"))
    else:
        q = min(max(m.quality_score, Decimal(0)), Decimal(cfg.quality_weight))
        parts.append((Component.quality, cfg.quality_weight, q, f"街道分中心认定 {q} 分（满分 {cfg.quality_weight}）"))

    if cfg.unassigned_weight:
        full = cfg.unassigned_full
        parts.append((Component.unassigned, cfg.unassigned_weight, Decimal(cfg.unassigned_weight if full else 0),
                      "办法未列明此 5%，按配置" + ("全额发放" if full else "不予发放")))

    # Each component is its points' share of the month's pay; apportioned to the fen so that a full
    # score pays exactly what the district paid.
    shares = [Fraction(points) / 100 * m.paid_fen for _, _, points, _ in parts]
    total = sum(shares, Fraction(0))
    pays = apportion(int(total), shares)
    components = tuple(ComponentResult(c, w, p, pay, why) for (c, w, p, why), pay in zip(parts, pays, strict=True))
    score = sum((c.points for c in components), Decimal(0))
    return MonthResult(m.month, score, m.paid_fen, sum(pays), components)


def vetoes_of(q: QuarterInput, cfg: AssessmentConfig = AssessmentConfig()) -> list[tuple[Veto, str]]:
    """一票否决: "上报虚假案件，个人存在行风效能问题及零上报的，实行'一票否决制'"."""
    found: list[tuple[Veto, str]] = []
    if q.false_cases:
        found.append((Veto.false_case, f"本季度上报虚假案件 {q.false_cases} 件"))
    if q.conduct_problem:
        found.append((Veto.conduct, f"行风效能问题：{q.conduct_problem}"))
    if cfg.zero_reports_scope == "quarter":
        if sum(m.reported_cases for m in q.months) == 0:
            found.append((Veto.zero_reports, "本季度零上报"))
    else:
        empty = [m.month for m in q.months if m.reported_cases == 0]
        if empty:
            found.append((Veto.zero_reports, f"{'、'.join(empty)} 零上报"))
    return found


def assess_quarter(q: QuarterInput, cfg: AssessmentConfig = AssessmentConfig()) -> QuarterResult:
    """The quarter: the months rolled up (mean by default), deductions, vetoes, pay in fen."""
    months = tuple(assess_month(m, cfg) for m in q.months)
    if not months:
        before = Decimal(0)
    elif cfg.rollup == "min":
        before = min(m.score for m in months)
    else:
        before = (sum((m.score for m in months), Decimal(0)) / len(months)).quantize(CENT, ROUND_HALF_UP)
    deductions = cfg.inspection_deduction * q.inspection_flags
    score = max(Decimal(0), before - deductions).quantize(CENT)
    vetoes = tuple(vetoes_of(q, cfg))
    pay = 0 if vetoes else sum(m.pay_fen for m in months)
    lines = [f"季度得分 = {'各月平均' if cfg.rollup == 'mean' else '各月最低'} {before}"]
    if deductions:
        lines.append(f"督查发现网格内 3 类以上问题 {q.inspection_flags} 次，扣 {deductions} 分")
    if vetoes:
        lines.append("一票否决：" + "；".join(why for _, why in vetoes) + "，不予发放当季个人全额绩效考核工资")
    return QuarterResult(score, before, deductions, pay, vetoes, months, tuple(lines))
