"""SPEC §4 and §5 with worked examples from the regulation: table-driven, exact to the fen."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from services.core.assessment.money import apportion, split_equally, yuan
from services.core.assessment.rewards import Ranked, Staff, allocate
from services.core.assessment.rules import (
    AssessmentConfig,
    Component,
    MonthFigures,
    QuarterInput,
    Veto,
    assess_month,
    assess_quarter,
)

PAY = 300_000  # ¥3,000.00 of performance pay paid by the district for the month


def month(valid: int = 100, self_handled: int = 30, due: int = 100, overdue: int = 0,
          quality: Decimal | None = Decimal(20), reported: int | None = None, paid: int = PAY,
          name: str = "2026-10") -> MonthFigures:
    return MonthFigures(name, reported if reported is not None else valid, valid, self_handled, due, overdue,
                        quality, paid)


def points(result: object, component: Component) -> Decimal:
    return next(c.points for c in result.components if c.component == component)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("valid", "earned"), [(79, 0), (80, 25), (81, 25), (0, 0)])
def test_volume_needs_80_valid_cases(valid: int, earned: int) -> None:
    assert points(assess_month(month(valid=valid, self_handled=valid)), Component.volume) == earned


@pytest.mark.parametrize(("self_handled", "valid", "earned"), [
    (249, 1000, 0),  # 24.9%
    (250, 1000, 30),  # 25%
    (20, 80, 30),  # exactly 25% of 80
    (19, 80, 0),  # 23.75%
    (0, 0, 0),  # no valid case: no rate to meet
])
def test_self_handle_rate_needs_25_percent(self_handled: int, valid: int, earned: int) -> None:
    assert points(assess_month(month(valid=valid, self_handled=self_handled)), Component.self_handle) == earned


@pytest.mark.parametrize(("overdue", "due", "earned"), [
    (99, 10000, 20),  # 0.99%: kept
    (100, 10000, 0),  # 1%: "当月超期案件≥1%，此项不予发放"
    (1, 100, 0),
    (0, 0, 20),  # nothing fell due: nothing was late
])
def test_overdue_rate_at_one_percent_loses_the_component(overdue: int, due: int, earned: int) -> None:
    assert points(assess_month(month(overdue=overdue, due=due)), Component.overdue) == earned


def test_a_full_month_pays_exactly_what_the_district_paid() -> None:
    result = assess_month(month(paid=300_001))  # an odd fen: apportioned, not lost
    assert result.score == 100 and result.pay_fen == 300_001
    assert [c.pay_fen for c in result.components] == [75_000, 90_001, 60_000, 60_000, 15_000]  # the largest remainder


def test_each_component_is_its_share_of_the_pay_and_says_why() -> None:
    result = assess_month(month(valid=79, self_handled=20, quality=Decimal("17.5")))
    by = {c.component: c for c in result.components}
    assert result.score == Decimal("72.5")  # 0 + 30 + 20 + 17.5 + 5
    assert by[Component.volume].pay_fen == 0 and "79 件 < 80 件" in by[Component.volume].reason
    assert by[Component.self_handle].pay_fen == 90_000 and "25.32%" in by[Component.self_handle].reason
    assert by[Component.quality].pay_fen == 52_500
    assert result.pay_fen == 217_500  # 72.5% of ¥3,000.00


def test_quality_not_entered_counts_zero_and_unassigned_is_configurable() -> None:
    result = assess_month(month(quality=None), AssessmentConfig(unassigned_full=False))
    assert result.score == 75 and "未录入" in next(c.reason for c in result.components
                                                    if c.component == Component.quality)


def test_quarter_is_the_mean_of_its_months_with_deductions() -> None:
    q = QuarterInput((month(name="2026-10"), month(valid=79, name="2026-11"), month(self_handled=0, name="2026-12")),
                     inspection_flags=2)
    result = assess_quarter(q)
    assert result.score_before_deductions == Decimal("81.67")  # (100 + 75 + 70) / 3
    assert result.deductions == 4 and result.score == Decimal("77.67")
    assert result.pay_fen == 300_000 + 225_000 + 210_000  # deductions lower the rank, not the pay
    assert not result.vetoed
    assert assess_quarter(q, AssessmentConfig(rollup="min")).score_before_deductions == 70


@pytest.mark.parametrize(("q", "veto"), [
    (QuarterInput((month(),), false_cases=1), Veto.false_case),
    (QuarterInput((month(),), conduct_problem="工作日饮酒"), Veto.conduct),
    (QuarterInput((month(reported=0, valid=0, self_handled=0),) * 3), Veto.zero_reports),
])
def test_one_veto_withholds_the_whole_quarter(q: QuarterInput, veto: Veto) -> None:
    result = assess_quarter(q)
    assert result.vetoed and result.pay_fen == 0 and result.vetoes[0][0] == veto
    assert "一票否决" in result.explanation[-1]


def test_zero_reports_per_month_when_configured() -> None:
    q = QuarterInput((month(), month(reported=0, valid=0, self_handled=0, name="2026-11"), month()))
    assert not assess_quarter(q).vetoed  # default: the quarter as a whole had reports
    vetoed = assess_quarter(q, AssessmentConfig(zero_reports_scope="month"))
    assert vetoed.vetoes == ((Veto.zero_reports, "2026-11 零上报"),)


def test_weights_must_add_up_to_100() -> None:
    with pytest.raises(ValueError):
        AssessmentConfig(unassigned_weight=10)


# ---- the reward split --------------------------------------------------------------------------

STAFF = Staff(department_heads=[(1, "部门负责人")], department_supervisors=[(2, "部门主管")],
              operators=[(3, "操作员甲"), (4, "操作员乙"), (5, "操作员丙")])


def communities(*scores: str) -> list[Ranked]:
    return [Ranked(100 + i, f"社区{i}", Decimal(s)) for i, s in enumerate(scores)]


def workers(n: int, base: int = 90) -> list[Ranked]:
    return [Ranked(200 + i, f"网格员{i}", Decimal(base - i)) for i in range(n)]


def amounts(allocation: object, group: str) -> list[int]:
    return [line.amount_fen for line in allocation.lines if line.group == group]  # type: ignore[attr-defined]


def test_a_fund_of_100000_yuan_split_to_the_fen() -> None:
    a = allocate(10_000_000, STAFF, communities("95", "90", "85", "80"), workers(12))
    assert a.total() == 10_000_000
    # staff 20%: head 5%, supervisor 5%, operators 10% in three (¥3,333.34 + ¥3,333.33 × 2)
    assert amounts(a, "staff") == [500_000, 500_000, 333_334, 333_333, 333_333]
    assert amounts(a, "community") == [3_000_000, 2_000_000, 1_000_000]  # 30 / 20 / 10 %
    assert [line.secretary_cap_fen for line in a.lines if line.group == "community"] == [750_000, 500_000, 250_000]
    assert amounts(a, "grid_worker") == [500_000] + [300_000] * 3 + [100_000] * 6
    assert amounts(a, "unallocated") == []
    assert [line.recipient_id for line in a.lines if line.group == "grid_worker"] == list(range(200, 210))


def test_an_odd_fund_still_sums_exactly() -> None:
    a = allocate(10_000_001, STAFF, communities("95", "90", "85"), workers(10))
    assert a.total() == 10_000_001 and sum(amounts(a, "community")) in (6_000_000, 6_000_001)


def test_ties_share_their_places_equally() -> None:
    tied = [Ranked(301, "甲", Decimal(95)), Ranked(302, "乙", Decimal(95)), *workers(8, base=80)]
    a = allocate(10_000_000, STAFF, communities("95", "90", "85"), tied)
    top = [line for line in a.lines if line.group == "grid_worker"][:2]
    assert [(line.recipient_id, line.rank, line.amount_fen) for line in top] == [(301, 1, 400_000), (302, 1, 400_000)]
    assert "并列" in top[0].explanation  # (5% + 3%) / 2 each
    # a tie breaker decides before sharing: more valid cases first
    broken = [Ranked(301, "甲", Decimal(95), (Decimal(80),)), Ranked(302, "乙", Decimal(95), (Decimal(120),))]
    b = allocate(10_000_000, STAFF, communities("95"), broken)
    assert [(line.recipient_id, line.amount_fen) for line in b.lines if line.group == "grid_worker"] == [
        (302, 500_000), (301, 300_000)]


def test_fewer_communities_and_workers_leave_explicit_unallocated_lines() -> None:
    a = allocate(10_000_000, Staff([], [(2, "主管")], []), communities("90", "80"), workers(4))
    unallocated = [(line.place, line.amount_fen) for line in a.lines if line.group == "unallocated"]
    assert ("部门负责人", 500_000) in unallocated and ("操作员", 1_000_000) in unallocated
    assert ("社区第三名", 1_000_000) in unallocated
    # four workers take the first four places; the six third places (1% each) stay unallocated
    assert sum(fen for place, fen in unallocated if place.startswith("网格员")) == 600_000
    assert a.total() == 10_000_000


def test_a_tie_across_the_last_place_shares_what_is_left() -> None:
    a = allocate(10_000_000, STAFF, communities("95", "90", "85", "85"), workers(10))
    third = [line for line in a.lines if line.group == "community"][2:]
    assert [line.amount_fen for line in third] == [500_000, 500_000]  # 10% between the two tied third places


def test_money_helpers() -> None:
    assert split_equally(100, 3) == [34, 33, 33]
    assert apportion(7, [Fraction(7, 2)] * 2) == [4, 3]  # equal remainders: the earlier part first
    with pytest.raises(ValueError):
        apportion(7, [])
    assert yuan(10_000_000) == "100,000.00" and yuan(5) == "0.05"


def test_the_numbers_are_configuration() -> None:
    from pydantic import ValidationError

    from services.core.assessment.config import assessment_config, materials_config
    from services.core.config import Settings

    s = Settings(env="dev", assessment_config='{"rollup": "min", "volume_min_valid_cases": 60, '
                                               '"self_handle_min_rate": "0.2", "unassigned_full": false}',
                 materials_config='{"max_score": "20", "weight_patrols": 40, "weight_summaries": 5}')
    cfg = assessment_config(s)
    assert (cfg.rollup, cfg.volume_min_valid_cases, cfg.self_handle_min_rate, cfg.unassigned_full) == (
        "min", 60, Fraction(1, 5), False)
    assert materials_config(s).max_score == Decimal(20) and materials_config(s).weight_patrols == 40
    assert assessment_config(Settings(env="dev")) == AssessmentConfig()
    with pytest.raises(ValidationError, match="unknown field 'nope'"):
        Settings(env="dev", assessment_config='{"nope": 1}')
    with pytest.raises(ValidationError, match="weights must add up to 100"):
        Settings(env="dev", assessment_config='{"unassigned_weight": 10}')
