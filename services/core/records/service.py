"""Use cases of records and inspections: write your community's registers (with an audit trail),
inspect and follow problems up to closed, and compute each community's compliance."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.core.categories.repository import CategoryRepository
from services.core.clock import SHANGHAI
from services.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.core.org.models import Grid, Person
from services.core.org.repository import OrgRepository
from services.core.org.roles import COMMUNITY_ROLES, Role
from services.core.org.scope import Principal
from services.core.outbox.repository import OutboxRepository
from services.core.outbox.rows import group_message
from services.core.records import rules
from services.core.records.models import Inspection, InspectionProblem, Record, RecordRevision
from services.core.records.repository import RecordRepository
from services.core.records.rules import RecordKind
from services.core.stats import periods

SUPERVISORS = frozenset({Role.department_supervisor, Role.business_supervisor, Role.department_head})
REQUIRED_DETAILS: dict[RecordKind, tuple[str, ...]] = {
    RecordKind.patrol: ("members",),  # the patrol team members who went (物业保安、志愿者、居民骨干)
    RecordKind.patrol_team: ("members",),  # the registered team: [{"name", "type"}] or names
    RecordKind.joint_meeting: ("attendees",),  # the minutes (纪要) are the body
    RecordKind.enforcement_evaluation: ("forces", "rating"),
    RecordKind.summary: ("period_type",),
    RecordKind.public_info: ("topic",),
    RecordKind.app_promotion: ("registered", "coverage", "participation"),
}
SUMMARY_PERIODS = ("month", "quarter", "half_year", "year")
PUBLIC_TOPICS = ("grid_division", "organization", "rules")


def _writes_for(principal: Principal) -> set[int]:
    """Communities whose records this person writes: their own."""
    return {cid for role, cid in principal.community_roles if role in COMMUNITY_ROLES}


def readable_communities(principal: Principal) -> list[int] | None:
    """None: every community (supervisors and leaders); else their own and, for operators, the linked."""
    if principal.street_wide:
        return None
    ids = {cid for _, cid in principal.community_roles}
    if principal.is_operator:
        ids |= set(principal.linked_community_ids)
    return sorted(ids)


def _check_details(kind: RecordKind, details: dict[str, Any], body: str | None) -> None:
    for name in REQUIRED_DETAILS[kind]:
        if details.get(name) in (None, "", []):
            raise InvalidInput(f"details.{name}", f"a {kind.value} record needs {name}", code="field_required")
    if kind in (RecordKind.patrol, RecordKind.patrol_team):
        members = details["members"]
        if not isinstance(members, list) or not all(
                (isinstance(m, str) and m.strip()) or (isinstance(m, dict) and isinstance(m.get("name"), str)
                                                       and m["name"].strip()) for m in members):
            raise InvalidInput("details.members", 'a list of names, or of {"name": …, "type": …}')
    if kind == RecordKind.joint_meeting and not (body or "").strip():
        raise InvalidInput("body", "the minutes (纪要) of the meeting", code="field_required")
    if kind == RecordKind.summary and details["period_type"] not in SUMMARY_PERIODS:
        raise InvalidInput("details.period_type", f"one of {', '.join(SUMMARY_PERIODS)}")
    if kind == RecordKind.public_info and details["topic"] not in PUBLIC_TOPICS:
        raise InvalidInput("details.topic", f"one of {', '.join(PUBLIC_TOPICS)}")
    if kind == RecordKind.app_promotion:
        for name in REQUIRED_DETAILS[kind]:
            if not isinstance(details[name], int | float) or details[name] < 0:
                raise InvalidInput(f"details.{name}", "a number, 0 or more")


def _member_names(members: Any) -> set[str]:
    return {str(m.get("name") if isinstance(m, dict) else m).strip() for m in members or []}


async def _check_patrol_members(repo: RecordRepository, community_id: int, details: dict[str, Any]) -> None:
    """A patrol is by registered team members, once the community has registered its team (巡查队伍)."""
    rosters = await repo.latest(community_id, RecordKind.patrol_team.value)
    if not rosters:
        return
    registered = set().union(*(_member_names(r.details.get("members")) for r in rosters))
    strangers = sorted(_member_names(details.get("members")) - registered)
    if strangers:
        raise InvalidInput("details.members", f"not registered in the patrol team: {'、'.join(strangers)}")


def _snapshot(r: Record) -> dict[str, Any]:
    return {"kind": r.kind, "occurred_on": r.occurred_on.isoformat(), "title": r.title, "body": r.body,
            "details": r.details}


async def create_record(session: AsyncSession, principal: Principal, *, community_id: int | None, kind: RecordKind,
                        occurred_on: date, title: str, body: str | None, details: dict[str, Any],
                        now: datetime) -> Record:
    """A community writes its own registers (one community: ``community_id`` may be left out)."""
    own = _writes_for(principal)
    if community_id is None and len(own) == 1:
        community_id = next(iter(own))
    if community_id is None or community_id not in own:
        raise Forbidden("a community writes its own records", code="not_your_community")
    if occurred_on > now.astimezone(SHANGHAI).date():
        raise InvalidInput("occurred_on", "a record of something that has happened")
    _check_details(kind, details, body)
    repo = RecordRepository(session)
    if kind == RecordKind.patrol:
        await _check_patrol_members(repo, community_id, details)
    record = Record(community_id=community_id, kind=kind.value, occurred_on=occurred_on, title=title.strip(),
                    body=body, details=details, author_id=principal.person_id, created_at=now, updated_at=now)
    await repo.add(record)
    await repo.add(RecordRevision(record_id=record.id, action="create", by_id=principal.person_id, at=now,
                                  before=None, after=_snapshot(record)))
    return record


async def visible_record(session: AsyncSession, principal: Principal, record_id: int, *,
                         for_update: bool = False) -> Record:
    record = await RecordRepository(session).record(record_id, for_update=for_update)
    readable = readable_communities(principal)
    if record is None or (readable is not None and record.community_id not in readable):
        raise NotFound(f"record {record_id} not found", code="record_not_found")
    return record


async def writable_record(session: AsyncSession, principal: Principal, record_id: int) -> Record:
    """A record of the asker's own community (404 outside their sight, 403 if they only read it)."""
    record = await visible_record(session, principal, record_id)
    if record.community_id not in _writes_for(principal):
        raise Forbidden("a community adds to its own records", code="not_your_community")
    return record


async def update_record(session: AsyncSession, principal: Principal, record_id: int, changes: dict[str, Any], *,
                        now: datetime) -> Record:
    """Correct a record; the revision keeps the values before and after."""
    record = await visible_record(session, principal, record_id, for_update=True)
    if record.community_id not in _writes_for(principal):
        raise Forbidden("a community corrects its own records", code="not_your_community")
    if changes.get("occurred_on") is not None and changes["occurred_on"] > now.astimezone(SHANGHAI).date():
        raise InvalidInput("occurred_on", "a record of something that has happened")
    before = _snapshot(record)
    for name in ("occurred_on", "title", "body", "details"):
        if changes.get(name) is not None:
            setattr(record, name, changes[name])
    _check_details(RecordKind(record.kind), record.details, record.body)
    if record.kind == RecordKind.patrol.value:
        await _check_patrol_members(RecordRepository(session), record.community_id, record.details)
    record.updated_at = now
    await RecordRepository(session).add(RecordRevision(record_id=record.id, action="update",
                                                       by_id=principal.person_id, at=now, before=before,
                                                       after=_snapshot(record)))
    return record


async def create_inspection(session: AsyncSession, principal: Principal, *, community_id: int, kind: str,
                            inspecting_community_id: int | None, inspected_on: date, summary: str,
                            tasks: list[str], problems: list[dict[str, Any]], now: datetime) -> Inspection:
    """督查 (an operator of a linked community, or a supervisor) or 互查 (another community's people),
    with its problem list: each problem a category, a grid, an owner and a rectification deadline."""
    if kind == "operator":
        linked = principal.is_operator and community_id in principal.linked_community_ids
        if not (linked or principal.roles & SUPERVISORS):
            raise Forbidden("督查 is for the operators linked to the community and the supervisors",
                            code="role_not_allowed")
        inspecting_community_id = None
    else:
        if inspecting_community_id is None or inspecting_community_id not in _writes_for(principal):
            raise Forbidden("互查 is recorded by the inspecting community's people", code="not_your_community")
        if inspecting_community_id == community_id:
            raise InvalidInput("community_id", "a community does not inspect itself")
    if await OrgRepository(session).community(community_id) is None:
        raise InvalidInput("community_id", f"unknown community {community_id}")
    repo = RecordRepository(session)
    inspection = Inspection(community_id=community_id, kind=kind, inspecting_community_id=inspecting_community_id,
                            inspected_on=inspected_on, inspector_id=principal.person_id, summary=summary,
                            tasks=tasks, created_at=now)
    await repo.add(inspection)
    categories = CategoryRepository(session)
    for i, p in enumerate(problems):
        where = f"problems[{i}]"
        category = await categories.by_code(p["category_code"])
        if category is None:
            raise InvalidInput(f"{where}.category_code", f"unknown category {p['category_code']!r}")
        grid_id = p.get("grid_id")
        if grid_id is not None:
            grid = await session.get(Grid, grid_id)
            if grid is None or grid.community_id != community_id:
                raise InvalidInput(f"{where}.grid_id", "a grid of the inspected community")
        owner = await session.get(Person, p["owner_id"])
        if owner is None or not owner.active or community_id not in await OrgRepository(session).communities_of(
                owner.id):
            raise InvalidInput(f"{where}.owner_id", f"person {p['owner_id']} is not one of the inspected community's")
        if p["deadline_on"] < inspected_on:
            raise InvalidInput(f"{where}.deadline_on", "the rectification deadline comes after the inspection")
        await repo.add(InspectionProblem(inspection_id=inspection.id, grid_id=grid_id, category_id=category.id,
                                         description=p["description"], owner_id=p["owner_id"],
                                         deadline_on=p["deadline_on"], follow_up=[]))
    if kind == "mutual":
        await _bulletin(session, inspection, problems, now)
    return inspection


async def _bulletin(session: AsyncSession, inspection: Inspection, problems: list[dict[str, Any]],
                    now: datetime) -> None:
    """互查 results are "通报" to every community: one message to each community's group."""
    org = OrgRepository(session)
    inspected = await org.community(inspection.community_id)
    inspecting = await org.community(inspection.inspecting_community_id or 0)
    deadlines = sorted({p["deadline_on"] for p in problems})
    text = (f"【大联动·互查通报】{inspecting.name if inspecting else ''}对{inspected.name if inspected else ''}"
            f"开展互查互评（{inspection.inspected_on:%m月%d日}）：发现问题 {len(problems)} 项"
            + (f"，整改期限 {deadlines[0]:%m月%d日}" if deadlines else "") + f"。{inspection.summary[:200]}")
    await OutboxRepository(session).add([group_message(f"mutual_inspection:{inspection.id}:{c.id}", c.id, text, now)
                                         for c in await org.list_communities() if c.active])


async def follow_up(session: AsyncSession, principal: Principal, problem_id: int, note: str, close: bool, *,
                    now: datetime) -> InspectionProblem:
    """整改 follow-up: the community reports progress; the inspector's side closes it."""
    repo = RecordRepository(session)
    problem = await repo.problem(problem_id, for_update=True)
    inspection = await repo.inspection(problem.inspection_id) if problem else None
    readable = readable_communities(principal)
    if problem is None or inspection is None or (readable is not None and inspection.community_id not in readable
                                                 and inspection.inspecting_community_id not in readable):
        raise NotFound(f"problem {problem_id} not found", code="problem_not_found")
    if problem.closed_at is not None:
        raise Conflict(f"problem {problem_id} is closed", code="problem_closed")
    closer = (principal.person_id == inspection.inspector_id or bool(principal.roles & SUPERVISORS)
              or (principal.is_operator and inspection.community_id in principal.linked_community_ids))
    writer = inspection.community_id in _writes_for(principal) or principal.person_id == problem.owner_id
    if close and not closer:
        raise Forbidden("closing a rectification is for the inspecting side", code="role_not_allowed")
    if not (closer or writer):
        raise Forbidden("follow-up is for the inspected community and the inspecting side", code="role_not_allowed")
    problem.follow_up = [*problem.follow_up, {"at": now.isoformat(), "by": principal.person_id, "note": note,
                                              "closed": close}]
    if close:
        problem.closed_at, problem.closed_by = now, principal.person_id
    await session.flush()
    return problem


async def compliance_of(session: AsyncSession, community_id: int, quarter: str, *, now: datetime,
                        cfg: rules.MaterialsConfig = rules.MaterialsConfig()) -> dict[str, Any]:
    """The quarter's compliance of one community: what is there, what is missing or late, the score."""
    q = periods.quarter(quarter)
    start, end = q.start.date(), q.end.date()
    today = now.astimezone(SHANGHAI).date()
    repo = RecordRepository(session)

    async def on(kind: RecordKind, since: date = start) -> list[date]:
        return [d for d, _ in await repo.dates(community_id, kind.value, since, end)]

    summaries = [(str(details.get("period_type")), d)
                 for d, details in await repo.dates(community_id, RecordKind.summary.value, start, end)]
    # the quarter's own inspections, judged at its end (a past quarter does not change later)
    overdue = [f"{p.description}（期限 {p.deadline_on:%m-%d}）"
               for p, _ in await repo.overdue_problems(min(today, end), community_id, inspected=(start, end))]
    # a week is judged in the quarter its Sunday falls in: patrols from that week's Monday count
    first_monday = start - timedelta(days=start.weekday())
    result = rules.compliance(start=start, end=end, today=today, patrols=await on(RecordKind.patrol, first_monday),
                              meetings=await on(RecordKind.joint_meeting),
                              evaluations=await on(RecordKind.enforcement_evaluation), summaries=summaries,
                              overdue_rectifications=overdue, cfg=cfg)
    public = [{"topic": r.details.get("topic"), "title": r.title, "updated_on": r.occurred_on.isoformat()}
              for r in await repo.latest(community_id, RecordKind.public_info.value)]
    promotion = await repo.latest(community_id, RecordKind.app_promotion.value)
    return {"community_id": community_id, "quarter": quarter, "materials_score": str(result.score),
            "checks": [{**asdict(c), "fraction": f"{float(c.fraction):.4f}", "missing": list(c.missing)}
                       for c in result.checks],
            "public_info": public,
            "app_promotion": promotion[0].details | {"as_of": promotion[0].occurred_on.isoformat()}
            if promotion else None}


async def inspection_flags(session: AsyncSession, start: date, end: date) -> dict[int, int]:
    """Per grid, the operators' inspections in the period that found 3+ categories of problems in it."""
    return rules.grids_flagged(await RecordRepository(session).operator_problems(start, end))


def readable_community(principal: Principal, community_id: int) -> None:
    readable = readable_communities(principal)
    if readable is not None and community_id not in readable:
        raise NotFound(f"community {community_id} not found", code="community_not_found")


def problems_by_inspection(problems: Sequence[InspectionProblem]) -> dict[int, list[InspectionProblem]]:
    out: dict[int, list[InspectionProblem]] = {}
    for p in problems:
        out.setdefault(p.inspection_id, []).append(p)
    return out
