"""Passive cases: detail, audit trail, the moves of the lifecycle, progress notes."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter

from services.api.deps import ClockDep, PrincipalDep, SessionDep, SettingsDep
from services.api.schemas import CaseDetailOut, CaseEventOut, Id, MoveIn, NoteIn
from services.core.cases import rules
from services.core.cases import service as cases
from services.core.cases.models import PassiveCase
from services.core.cases.rules import CaseAction, CaseStatus
from services.core.org.scope import Principal

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])


def detail(case: PassiveCase, principal: Principal, now: datetime) -> CaseDetailOut:
    """A case as the principal sees it: with ``is_overdue`` now and the moves they may make."""
    status = CaseStatus(case.status)
    held = frozenset(principal.roles_for_community(case.community_id))
    out = CaseDetailOut.model_validate({
        **{k: getattr(case, k) for k in CaseDetailOut.model_fields if hasattr(case, k)},
        "is_overdue": rules.is_overdue(case.deadline_at, case.handled_at, now, status),
        "allowed_actions": rules.allowed_actions(status, held),
    })
    return out


@router.get("/{case_id}", response_model=CaseDetailOut)
async def get_case(case_id: Id, session: SessionDep, principal: PrincipalDep, clock: ClockDep) -> CaseDetailOut:
    case = await cases.get_visible_case(session, principal, case_id)
    return detail(case, principal, clock.now())


@router.get("/{case_id}/events", response_model=list[CaseEventOut], summary="Audit trail of a case")
async def case_events(case_id: Id, session: SessionDep, principal: PrincipalDep) -> list[CaseEventOut]:
    return [CaseEventOut.model_validate(e) for e in await cases.case_events(session, principal, case_id)]


@router.post("/{case_id}/notes", response_model=CaseDetailOut, summary="Add a progress note (进展情况)")
async def add_note(case_id: Id, body: NoteIn, session: SessionDep, principal: PrincipalDep,
                   clock: ClockDep) -> CaseDetailOut:
    now = clock.now()
    case = await cases.add_progress_note(session, principal, case_id, body.note, now=now)
    return detail(case, principal, now)


MOVE_DOCS: dict[CaseAction, str] = {
    CaseAction.dispatch: "分派 to a community. Needs `community_id` (operator: a linked community).",
    CaseAction.accept: "接单. Optional `responsible_person_id` (a person of the community; default: you).",
    CaseAction.start: "Start handling (处置中).",
    CaseAction.request_extension: "申请延期. Needs `requested_deadline_at` and `note` (the reason).",
    CaseAction.grant_extension: "Grant the extension; optional `deadline_at` overrides the requested one.",
    CaseAction.deny_extension: "Deny the extension; optional `note`.",
    CaseAction.return_case: "退回 a wrongly dispatched case. Needs `note` (the reason).",
    CaseAction.redispatch: "Re-dispatch a returned case. Needs `community_id`.",
    CaseAction.handle: "Mark handled (已处置). Needs `note` (what was done).",
    CaseAction.reply: "回复 the district. Needs `reply_text`.",
    CaseAction.close: "结案.",
    CaseAction.reopen: "Reopen a handled, replied or closed case for handling again. Needs `note`.",
}


def _add_move_route(action: CaseAction) -> None:
    async def move(case_id: Id, session: SessionDep, principal: PrincipalDep, clock: ClockDep,
                   settings: SettingsDep, body: MoveIn | None = None) -> CaseDetailOut:
        body = body or MoveIn()
        now = clock.now()
        case = await cases.move_case(
            session, principal, case_id, action, cases.MoveInput(**body.model_dump()), now=now,
            acceptance_limit=timedelta(minutes=settings.acceptance_timeout_minutes))
        return detail(case, principal, now)

    move.__name__ = f"case_{action.name}"
    m = rules.MOVES[action]
    description = (f"{MOVE_DOCS[action]}\n\nFrom: {', '.join(sorted(s.value for s in m.sources))} → "
                   f"{m.target.value}. Roles: {', '.join(sorted(a.value for a in m.actors))}.")
    router.add_api_route(f"/{{case_id}}/{action.value.replace('_', '-')}", move, methods=["POST"],
                         response_model=CaseDetailOut, summary=f"Move: {action.value}",
                         description=description)


for _action in CaseAction:
    if _action != CaseAction.recall:  # recall comes only from the district (webhook)
        _add_move_route(_action)
