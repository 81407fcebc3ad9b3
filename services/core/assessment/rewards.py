"""The reward split (奖惩兑现, SPEC §5) as a pure function: a quarter's fund, to the fen.

"奖励资金的 20%用于奖励大联动平台工作人员。其中，用于奖励部门负责人为 5%；用于奖励部门主管为 5%；
用于奖励操作员 10%。奖励资金的 60%用于奖励季度考核名次前 3 名的社区 … 第一名 … 30%；第二名 … 20%；
第三名 … 10% … 奖励本社区书记的资金不得超过本社区所获奖金的 25%。奖励资金的20%用于奖励季度考核名次在前10名
的网格员 … 第一名设 1 个 … 5%；第二名设 3 个 … 3%；第三名设 6 个 … 1%。"

How it is exact: the fund is first cut into the 16 places (head, supervisor, operators, three
communities, ten grid workers) by the largest-remainder method, in that order, so the places sum to
the fund; then a place shared by several people (the operators; people tied on a score) is split
equally the same way. A place nobody can take (fewer than 3 communities or 10 eligible grid
workers, no department head) is an explicit "unallocated" line, so the lines always sum to the fund.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Generic, TypeVar

from services.core.assessment.money import apportion, split_equally, yuan

SECRETARY_CAP = Fraction(25, 100)  # 书记所得不得超过本社区奖金的 25%

# (group, place label, percent of the fund) in the order the places are cut
PLACES: tuple[tuple[str, str, int], ...] = (
    ("staff", "部门负责人", 5), ("staff", "部门主管", 5), ("staff", "操作员", 10),
    ("community", "社区第一名", 30), ("community", "社区第二名", 20), ("community", "社区第三名", 10),
    ("grid_worker", "网格员第一名", 5),
    *(("grid_worker", "网格员第二名", 3) for _ in range(3)),
    *(("grid_worker", "网格员第三名", 1) for _ in range(6)),
)


@dataclass(frozen=True)
class Ranked:
    """Someone ranked: a community or a grid worker, with the key that orders them (best first)."""

    id: int
    name: str
    score: Decimal
    tiebreak: tuple[Decimal, ...] = ()  # further keys, best first, before a tie is declared


@dataclass(frozen=True)
class Staff:
    department_heads: Sequence[tuple[int, str]]
    department_supervisors: Sequence[tuple[int, str]]
    operators: Sequence[tuple[int, str]]


@dataclass(frozen=True)
class Line:
    group: str  # staff | community | grid_worker | unallocated
    place: str
    recipient_kind: str | None  # person | community | None (unallocated)
    recipient_id: int | None
    recipient_name: str | None
    rank: int | None
    amount_fen: int
    explanation: str
    secretary_cap_fen: int | None = None  # for a community: the most its secretary may receive


@dataclass(frozen=True)
class Allocation:
    fund_fen: int
    lines: tuple[Line, ...]

    def total(self) -> int:
        return sum(line.amount_fen for line in self.lines)


T = TypeVar("T")


@dataclass(frozen=True)
class _Tier(Generic[T]):
    rank: int  # 1-based competition rank: 1, 1, 3 …
    members: tuple[T, ...]


def tiers(ranked: Sequence[Ranked]) -> list[_Tier[Ranked]]:
    """Best first by score, then the tie-break keys; exactly equal keys make one tier (并列)."""
    ordered = sorted(ranked, key=lambda r: ([-r.score, *(-k for k in r.tiebreak)], r.id))
    out: list[_Tier[Ranked]] = []
    position = 1
    for r in ordered:
        if out and (out[-1].members[0].score, out[-1].members[0].tiebreak) == (r.score, r.tiebreak):
            out[-1] = _Tier(out[-1].rank, (*out[-1].members, r))
        else:
            out.append(_Tier(position, (r,)))
        position += 1
    return out


def _fill(group: str, places: list[tuple[str, int]], ranked: Sequence[Ranked], kind: str,
          describe: Callable[[Ranked], str]) -> list[Line]:
    """Give ``places`` (label, fen) to ``ranked`` in order; a tier takes as many places as it has
    members and shares their money equally; a tier straddling the last place shares what is left."""
    lines: list[Line] = []
    next_place = 0
    for tier in tiers(ranked):
        if next_place >= len(places):
            break
        taken = places[next_place:next_place + len(tier.members)]
        next_place += len(taken)
        pot = sum(fen for _, fen in taken)
        parts = split_equally(pot, len(tier.members))
        labels = "、".join(dict.fromkeys(label for label, _ in taken))
        for member, fen in zip(sorted(tier.members, key=lambda m: m.id), parts, strict=True):
            shared = f"，与 {len(tier.members) - 1} 名并列者平分" if len(tier.members) > 1 else ""
            lines.append(Line(group, labels, kind, member.id, member.name, tier.rank, fen,
                              f"第 {tier.rank} 名（{describe(member)}）{shared}：{labels} 合计 {yuan(pot)} 元"))
    for label, fen in places[next_place:]:
        lines.append(Line("unallocated", label, None, None, None, None, fen,
                          f"{label} 无人可得（参与排名的不足），{yuan(fen)} 元未分配"))
    return lines


def allocate(fund_fen: int, staff: Staff, communities: Sequence[Ranked], grid_workers: Sequence[Ranked]
             ) -> Allocation:
    """The quarter's fund (以奖代补资金, in fen) split by SPEC §5; ``grid_workers`` holds only those
    eligible (a vetoed worker gets no reward)."""
    if fund_fen < 0:
        raise ValueError("the fund cannot be negative")
    amounts = apportion(fund_fen, [Fraction(fund_fen * pct, 100) for _, _, pct in PLACES])
    placed = [(group, label, fen) for (group, label, _), fen in zip(PLACES, amounts, strict=True)]
    lines: list[Line] = []

    for (_, label, fen), people in zip(placed[:3], (staff.department_heads, staff.department_supervisors,
                                                    staff.operators), strict=True):
        if not people:
            lines.append(Line("unallocated", label, None, None, None, None, fen, f"无{label}，{yuan(fen)} 元未分配"))
            continue
        for (pid, name), part in zip(sorted(people), split_equally(fen, len(people)), strict=True):
            lines.append(Line("staff", label, "person", pid, name, None, part,
                              f"{label}份额 {yuan(fen)} 元，{len(people)} 人平分" if len(people) > 1
                              else f"{label}份额 {yuan(fen)} 元"))

    community_lines = _fill("community", [(label, fen) for g, label, fen in placed if g == "community"],
                            communities, "community", lambda r: f"综合得分 {r.score}")
    lines += [line if line.recipient_kind is None else
              Line(line.group, line.place, line.recipient_kind, line.recipient_id, line.recipient_name, line.rank,
                   line.amount_fen, line.explanation + f"；书记所得不得超过 {yuan(_cap(line.amount_fen))} 元",
                   _cap(line.amount_fen))
              for line in community_lines]
    lines += _fill("grid_worker", [(label, fen) for g, label, fen in placed if g == "grid_worker"],
                   grid_workers, "person", lambda r: f"考核得分 {r.score}")
    allocation = Allocation(fund_fen, tuple(lines))
    assert allocation.total() == fund_fen, "the lines must sum to the fund"
    return allocation


def _cap(award_fen: int) -> int:
    return int(award_fen * SECRETARY_CAP)  # at most 25%: rounded down to the fen
