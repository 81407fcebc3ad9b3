"""Use cases of the quarterly assessment: enter pay and quality, record conduct findings, set the fund,
compute a draft, publish it (frozen), reopen it (explicit and logged)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.core.assessment import rules
from services.core.assessment.models import AssessmentQuarter, ConductFinding
from services.core.assessment.repository import AssessmentRepository
from services.core.assessment.rewards import Ranked, Staff, allocate, tiers
from services.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.core.org.roles import Role
from services.core.org.scope import Principal
from services.core.records import service as records
from services.core.records.rules import MaterialsConfig
from services.core.stats import periods
from services.core.stats.repository import StatsRepository

# Who keeps the assessment: the sub-center staff (部门负责人, 部门主管, 业务主管).
ASSESSORS = frozenset({Role.department_head, Role.department_supervisor, Role.business_supervisor})
PUBLISHERS = frozenset({Role.department_head, Role.department_supervisor})  # 部门主管 … 季度考核
CENT = Decimal("0.01")


def _require(principal: Principal, roles: frozenset[Role], what: str) -> None:
    if not principal.roles & roles:
        raise Forbidden(f"{what} is for the street's assessment staff", code="role_not_allowed")


async def enter_pay(session: AsyncSession, principal: Principal, month: str, rows: list[dict[str, Any]], *,
                    now: datetime) -> int:
    """The month's performance pay actually paid, and quality scores (0–20), per grid worker."""
    _require(principal, ASSESSORS, "entering pay and quality")
    periods.month(month)
    repo = AssessmentRepository(session)
    workers = await repo.grid_workers([r["person_id"] for r in rows])
    seen: set[int] = set()
    for i, r in enumerate(rows):
        if r["person_id"] not in workers:
            raise InvalidInput(f"rows[{i}].person_id", f"person {r['person_id']} is not a grid worker")
        if r["person_id"] in seen:
            raise InvalidInput(f"rows[{i}].person_id", f"person {r['person_id']} appears twice")
        seen.add(r["person_id"])
    quarter = f"{month[:4]}-Q{(int(month[5:7]) - 1) // 3 + 1}"
    await _inputs_changed(repo, quarter, principal.person_id, now, f"pay {month}")
    await repo.put_pay([{"person_id": r["person_id"], "month": month, "paid_fen": r["paid_fen"],
                         "quality_score": r.get("quality_score"), "entered_by": principal.person_id,
                         "entered_at": now} for r in rows])
    return len(rows)


async def record_conduct(session: AsyncSession, principal: Principal, quarter: str, person_id: int, reason: str,
                         *, now: datetime) -> None:
    """行风效能问题: a one-veto for the person's quarter."""
    _require(principal, ASSESSORS, "recording conduct problems")
    periods.quarter(quarter)
    if not reason.strip():
        raise InvalidInput("reason", "say what the problem was", code="field_required")
    if person_id not in await AssessmentRepository(session).grid_workers([person_id]):
        raise InvalidInput("person_id", f"person {person_id} is not a grid worker")
    await _inputs_changed(AssessmentRepository(session), quarter, principal.person_id, now, "conduct")
    await AssessmentRepository(session).add_conduct(ConductFinding(
        person_id=person_id, quarter=quarter, reason=reason.strip(), entered_by=principal.person_id, entered_at=now))


async def _inputs_changed(repo: AssessmentRepository, quarter: str, by: int, now: datetime, what: str) -> None:
    """An input of ``quarter`` changes: refused once published; a computed draft is marked stale and must
    be computed again before it can be published (so a notice never disagrees with its inputs)."""
    row = await repo.quarter(quarter, for_update=True)
    if row is None:
        return
    if row.status == "published":
        raise Conflict(f"{quarter} is published; reopen it first", code="assessment_published")
    if row.result is not None and not row.result.get("stale"):
        row.result = {**row.result, "stale": True}
        row.history = [*row.history, {"at": now.isoformat(), "by": by, "action": "inputs_changed", "what": what}]


async def _draft(repo: AssessmentRepository, quarter: str) -> AssessmentQuarter:
    row = await repo.quarter(quarter, for_update=True)
    if row is None:
        row = await repo.add_quarter(AssessmentQuarter(quarter=quarter, status="draft", history=[]))
        row = await repo.quarter(quarter, for_update=True) or row
    if row.status == "published":
        raise Conflict(f"{quarter} is published; reopen it first", code="assessment_published")
    return row


async def set_fund(session: AsyncSession, principal: Principal, quarter: str, fund_fen: int, *,
                   now: datetime) -> AssessmentQuarter:
    _require(principal, PUBLISHERS, "setting the reward fund")
    periods.quarter(quarter)
    repo = AssessmentRepository(session)
    await _inputs_changed(repo, quarter, principal.person_id, now, "fund")
    row = await _draft(repo, quarter)
    row.fund_fen = fund_fen
    row.history = [*row.history, {"at": now.isoformat(), "by": principal.person_id, "action": "fund",
                                  "fund_fen": fund_fen}]
    await session.flush()
    return row


async def compute(session: AsyncSession, principal: Principal, quarter: str, *, now: datetime,
                  cfg: rules.AssessmentConfig, materials: MaterialsConfig) -> AssessmentQuarter:
    """The draft: every grid worker's quarter (SPEC §4), the communities' ranking, the reward split (§5)."""
    _require(principal, ASSESSORS, "computing the assessment")
    return await compute_draft(session, quarter, by=principal.person_id, now=now, cfg=cfg, materials=materials)


async def compute_draft(session: AsyncSession, quarter: str, *, by: int | None, now: datetime,
                        cfg: rules.AssessmentConfig, materials: MaterialsConfig) -> AssessmentQuarter:
    """``compute`` for whoever asks (``by`` None: the escalator's calendar duty)."""
    q = periods.quarter(quarter)
    repo = AssessmentRepository(session)
    row = await _draft(repo, quarter)
    stats = StatsRepository(session)
    months = periods.months_of(q)
    per_month = [{w["person_id"]: w for w in await stats.grid_workers(m.start, m.end, now, None)} for m in months]
    pay = {(p.person_id, p.month): p for p in await repo.pay([m.label for m in months])}
    conduct: dict[int, list[str]] = defaultdict(list)
    for c in await repo.conduct(quarter):
        conduct[c.person_id].append(c.reason)
    people = {pid: w for month in per_month for pid, w in month.items()}
    # 督查发现网格区域内存在 3 类以上问题: the flags of each worker's grids
    grid_flags = await records.inspection_flags(session, q.start.date(), q.end.date())
    worker_of = {g.id: g.grid_worker_id for g in await repo.grids()}
    flags: dict[int, int] = defaultdict(int)
    for grid_id, n in grid_flags.items():
        worker = worker_of.get(grid_id)
        if worker is not None:
            flags[worker] += n

    workers: list[dict[str, Any]] = []
    for pid, w in sorted(people.items(), key=lambda kv: (kv[1]["community_name"], kv[0])):
        figures = []
        for m, month_rows in zip(months, per_month, strict=True):
            f = month_rows.get(pid) or {}
            entry = pay.get((pid, m.label))
            figures.append(rules.MonthFigures(
                m.label, f.get("reported", 0), f.get("valid", 0), f.get("self_handled_valid", 0),
                f.get("cases_due", 0), f.get("overdue", 0), entry.quality_score if entry else None,
                entry.paid_fen if entry else 0))
        result = rules.assess_quarter(rules.QuarterInput(
            tuple(figures), false_cases=sum(month_rows.get(pid, {}).get("false_cases", 0) for month_rows in per_month),
            conduct_problem="；".join(conduct[pid]) or None, inspection_flags=flags.get(pid, 0)), cfg)
        valid = sum(f.valid_cases for f in figures)
        self_handled = sum(f.self_handled_valid_cases for f in figures)
        workers.append({"person_id": pid, "name": w["name"], "community_id": w["community_id"],
                        "community_name": w["community_name"], "valid_cases": valid,
                        "self_handle_rate": str(_rate(self_handled, valid)), **_quarter_json(result)})

    scores = {c: Decimal((await records.compliance_of(session, c, quarter, now=now, cfg=materials))["materials_score"])
              for c in await repo.community_ids()}
    communities = await _rank_communities(stats, q, now, workers, cfg, scores)
    staff = Staff(await repo.holders("department_head"), await repo.holders("department_supervisor"),
                  await repo.holders("operator"))
    eligible = [Ranked(w["person_id"], w["name"], Decimal(w["score"]),
                       (Decimal(w["valid_cases"]), Decimal(w["self_handle_rate"])))
                for w in workers if not w["vetoes"]]
    ranked_communities = [Ranked(c["community_id"], c["name"], Decimal(c["score"]),
                                 (Decimal(c["mean_worker_score"]), Decimal(-c["acceptance_timeouts"])))
                          for c in communities]
    allocation = allocate(row.fund_fen, staff, ranked_communities, eligible) if row.fund_fen is not None else None
    _ranks(workers, eligible)
    # The same tie rule as the reward split: equal on every key is equal in rank (并列).
    community_rank = {m.id: t.rank for t in tiers(ranked_communities) for m in t.members}
    for community in communities:
        community["rank"] = community_rank[community["community_id"]]
    communities.sort(key=lambda x: (x["rank"], x["code"]))
    row.result = {"quarter": quarter, "config": _config_json(cfg), "materials_config": _config_json(materials),
                  "grid_workers": workers,
                  "communities": communities,
                  "allocation": [asdict(line) for line in allocation.lines] if allocation else None,
                  "notes": ["社区综合得分 = 网格员平均分（一票否决者按 0 分计）+ 考核资料分（满分 10）− 接单超时扣分"]}
    row.computed_at, row.computed_by = now, by
    row.history = [*row.history, {"at": now.isoformat(), "by": by, "action": "compute"}]
    await session.flush()
    return row


def _rate(numerator: int, denominator: int) -> Decimal:
    return (Decimal(numerator) * 100 / denominator).quantize(CENT, ROUND_HALF_UP) if denominator else Decimal(0)


def _quarter_json(r: rules.QuarterResult) -> dict[str, Any]:
    return {"score": str(r.score), "score_before_deductions": str(r.score_before_deductions),
            "deductions": str(r.deductions), "pay_fen": r.pay_fen,
            "vetoes": [{"veto": v.value, "label": rules.VETO_LABELS[v], "reason": why} for v, why in r.vetoes],
            "explanation": list(r.explanation),
            "months": [{"month": m.month, "score": str(m.score), "paid_fen": m.paid_fen, "pay_fen": m.pay_fen,
                        "components": [{"component": c.component.value,
                                        "label": rules.COMPONENT_LABELS[c.component], "weight": c.weight,
                                        "points": str(c.points), "pay_fen": c.pay_fen, "reason": c.reason}
                                       for c in m.components]} for m in r.months]}


async def _rank_communities(stats: StatsRepository, q: periods.Period, now: datetime, workers: list[dict[str, Any]],
                            cfg: rules.AssessmentConfig, materials: dict[int, Decimal]) -> list[dict[str, Any]]:
    """以网格员考核平均值和考核资料为社区排名依据: the mean of its grid workers' scores (a vetoed worker
    counts 0), plus the materials score (资料完善, 0–10), minus acceptance timeouts."""
    by_community: dict[int, list[Decimal]] = defaultdict(list)
    for w in workers:
        by_community[w["community_id"]].append(Decimal(0) if w["vetoes"] else Decimal(w["score"]))
    out = []
    for c in await stats.communities(q.start, q.end, now, None):
        scores = by_community.get(c["community_id"], [])
        mean = (sum(scores, Decimal(0)) / len(scores)).quantize(CENT, ROUND_HALF_UP) if scores else Decimal(0)
        deduction = cfg.acceptance_timeout_deduction * c["acceptance_timeouts"]
        own = materials.get(c["community_id"], Decimal(0))
        score = max(Decimal(0), mean + own - deduction).quantize(CENT)
        out.append({"community_id": c["community_id"], "code": c["code"], "name": c["name"],
                    "grid_workers": len(scores), "mean_worker_score": str(mean), "materials_score": str(own),
                    "acceptance_timeouts": c["acceptance_timeouts"], "deduction": str(deduction),
                    "score": str(score)})
    return out


def _ranks(workers: list[dict[str, Any]], eligible: list[Ranked]) -> None:
    rank = {m.id: t.rank for t in tiers(eligible) for m in t.members}
    for w in workers:
        w["rank"] = rank.get(w["person_id"])  # None: vetoed, not ranked


def _config_json(cfg: rules.AssessmentConfig | MaterialsConfig) -> dict[str, Any]:
    return {k: str(v) if not isinstance(v, (int, str, bool)) else v for k, v in asdict(cfg).items()}


async def publish(session: AsyncSession, principal: Principal, quarter: str, *, now: datetime) -> AssessmentQuarter:
    """Freeze the draft: from now on it is the quarter's notice (通报), whatever the data does later."""
    _require(principal, PUBLISHERS, "publishing the assessment")
    repo = AssessmentRepository(session)
    row = await repo.quarter(quarter, for_update=True)
    if row is None or row.result is None:
        raise Conflict(f"{quarter} has not been computed", code="assessment_not_computed")
    if row.status == "published":
        raise Conflict(f"{quarter} is published already", code="assessment_published")
    if row.result.get("allocation") is None:
        raise Conflict(f"{quarter} has no reward fund set; set it and compute again", code="fund_missing")
    if row.result.get("stale"):
        raise Conflict(f"{quarter}'s inputs changed since it was computed; compute it again",
                       code="assessment_stale")
    row.status, row.published_at, row.published_by = "published", now, principal.person_id
    row.history = [*row.history, {"at": now.isoformat(), "by": principal.person_id, "action": "publish"}]
    await session.flush()
    return row


async def reopen(session: AsyncSession, principal: Principal, quarter: str, reason: str, *,
                 now: datetime) -> AssessmentQuarter:
    """Reopen a published quarter (explicit, with a reason, kept in its history)."""
    _require(principal, PUBLISHERS, "reopening the assessment")
    if not reason.strip():
        raise InvalidInput("reason", "say why the published assessment is reopened", code="field_required")
    row = await AssessmentRepository(session).quarter(quarter, for_update=True)
    if row is None or row.status != "published":
        raise Conflict(f"{quarter} is not published", code="assessment_not_published")
    row.status = "draft"
    row.history = [*row.history, {"at": now.isoformat(), "by": principal.person_id, "action": "reopen",
                                  "reason": reason.strip(), "published_at": row.published_at.isoformat()
                                  if row.published_at else None}]
    row.published_at = row.published_by = None
    await session.flush()
    return row


async def get(session: AsyncSession, principal: Principal, quarter: str
              ) -> tuple[AssessmentQuarter, dict[str, Any] | None]:
    """A published quarter is the street's notice (通报), open to everyone signed in; a draft is the staff's.

    Returns the record and its result as this person may see it: the staff see everything; anyone
    else sees the ranks, scores, vetoes and awards of all, and the pay and monthly detail only of
    themselves (a colleague's pay and the reasons behind a veto are not theirs to read).
    """
    row = await AssessmentRepository(session).quarter(quarter)
    staff = bool(principal.roles & (ASSESSORS | {Role.admin}))
    if row is None or (row.status != "published" and not staff):
        raise NotFound(f"no assessment for {quarter}", code="assessment_not_found")
    if staff or row.result is None:
        return row, row.result
    public = {"person_id", "name", "community_id", "community_name", "rank", "score", "valid_cases",
              "self_handle_rate"}
    workers = [w if w["person_id"] == principal.person_id else
               {**{k: v for k, v in w.items() if k in public},
                "vetoes": [{"veto": v["veto"], "label": v["label"]} for v in w["vetoes"]]}
               for w in row.result.get("grid_workers", [])]
    return row, {**row.result, "grid_workers": workers}
