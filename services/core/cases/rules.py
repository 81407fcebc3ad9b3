"""The passive-case lifecycle (被动案件流程) as one explicit table of allowed moves. Pure functions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from services.core.org.roles import SUPERVISOR_ROLES, Role


class CaseStatus(StrEnum):
    received = "received"  # 已接收: pushed by the district, not yet dispatched
    dispatched = "dispatched"  # 已分派: sent to a community, waiting for 接单
    accepted = "accepted"  # 已接单
    in_progress = "in_progress"  # 处置中
    extension_requested = "extension_requested"  # 申请延期, waiting for a decision
    returned = "returned"  # 已退回: the community sent it back (wrong dispatch)
    handled = "handled"  # 已处置
    replied = "replied"  # 已回复 the district
    closed = "closed"  # 已结案
    reopened = "reopened"  # 重新办理: closed or replied, then sent back for handling
    recalled = "recalled"  # 区平台撤回


STATUS_LABELS: dict[CaseStatus, str] = {
    CaseStatus.received: "已接收",
    CaseStatus.dispatched: "已分派",
    CaseStatus.accepted: "已接单",
    CaseStatus.in_progress: "处置中",
    CaseStatus.extension_requested: "申请延期",
    CaseStatus.returned: "已退回",
    CaseStatus.handled: "已处置",
    CaseStatus.replied: "已回复",
    CaseStatus.closed: "已结案",
    CaseStatus.reopened: "重新办理",
    CaseStatus.recalled: "已撤回",
}


class CaseAction(StrEnum):
    dispatch = "dispatch"  # 分派
    accept = "accept"  # 接单
    start = "start"  # 开始处置
    request_extension = "request_extension"  # 申请延期
    grant_extension = "grant_extension"  # 同意延期
    deny_extension = "deny_extension"  # 驳回延期
    return_case = "return"  # 退回
    redispatch = "redispatch"  # 重新分派
    handle = "handle"  # 处置完毕
    reply = "reply"  # 回复区平台
    close = "close"  # 结案
    reopen = "reopen"  # 重新办理
    recall = "recall"  # 区平台撤回


class Actor(StrEnum):
    """Who stands behind a move when it is not a person's role."""

    district = "district"  # the district platform, through the webhook
    system = "system"  # a rule of ours, e.g. auto-dispatch


S = CaseStatus
# Who may act on a case inside a community: the community's own people.
COMMUNITY_ACTORS = frozenset({Role.community_handler, Role.community_director, Role.community_vice_director})
# Who steers a case from the street: operators of the linked community and the supervisors.
STREET_ACTORS = frozenset({Role.operator, *SUPERVISOR_ROLES, Role.department_head})
# While a community works on a case, these are the statuses it may be in.
HANDLING = frozenset({S.accepted, S.in_progress, S.reopened})
OPEN = frozenset(set(S) - {S.closed, S.recalled})


@dataclass(frozen=True)
class Move:
    action: CaseAction
    sources: frozenset[CaseStatus]
    target: CaseStatus
    actors: frozenset[Role | Actor]
    stamp: str | None  # the ``*_at`` column the move sets to now


MOVES: dict[CaseAction, Move] = {m.action: m for m in (
    Move(CaseAction.dispatch, frozenset({S.received}), S.dispatched,
         STREET_ACTORS | {Actor.system}, "dispatched_at"),
    Move(CaseAction.accept, frozenset({S.dispatched}), S.accepted, COMMUNITY_ACTORS, "accepted_at"),
    Move(CaseAction.start, frozenset({S.accepted}), S.in_progress, COMMUNITY_ACTORS, "started_at"),
    Move(CaseAction.request_extension, HANDLING, S.extension_requested, COMMUNITY_ACTORS,
         "extension_requested_at"),
    Move(CaseAction.grant_extension, frozenset({S.extension_requested}), S.in_progress, STREET_ACTORS,
         "extension_granted_at"),
    Move(CaseAction.deny_extension, frozenset({S.extension_requested}), S.in_progress, STREET_ACTORS,
         "extension_denied_at"),
    Move(CaseAction.return_case, frozenset({S.dispatched, S.accepted}), S.returned, COMMUNITY_ACTORS,
         "returned_at"),
    Move(CaseAction.redispatch, frozenset({S.returned}), S.dispatched, STREET_ACTORS, "dispatched_at"),
    Move(CaseAction.handle, HANDLING, S.handled, COMMUNITY_ACTORS, "handled_at"),
    Move(CaseAction.reply, frozenset({S.handled}), S.replied, STREET_ACTORS, "replied_at"),
    Move(CaseAction.close, frozenset({S.replied}), S.closed, STREET_ACTORS | {Actor.district}, "closed_at"),
    Move(CaseAction.reopen, frozenset({S.handled, S.replied, S.closed}), S.reopened,
         STREET_ACTORS | {Actor.district}, "reopened_at"),
    Move(CaseAction.recall, OPEN, S.recalled, frozenset({Actor.district}), "recalled_at"),
)}


def move_for(action: CaseAction) -> Move:
    return MOVES[action]


def is_allowed_from(action: CaseAction, status: CaseStatus) -> bool:
    """May ``action`` be taken on a case in ``status``?"""
    return status in MOVES[action].sources


def actors_allowed(action: CaseAction, held: frozenset[Role | Actor]) -> bool:
    """Does any of the roles the actor holds *for this case* allow the move?"""
    return bool(MOVES[action].actors & held)


def allowed_actions(status: CaseStatus, held: frozenset[Role | Actor]) -> list[CaseAction]:
    """The moves the actor could take now (for clients to show the right buttons)."""
    return [a for a, m in MOVES.items() if status in m.sources and m.actors & held]


def is_acceptance_timeout(dispatched_at: datetime, accepted_at: datetime, limit: timedelta) -> bool:
    """接单超时: accepted more than ``limit`` (10 minutes by the regulation) after dispatch."""
    return accepted_at - dispatched_at > limit


def is_overdue(deadline_at: datetime, handled_at: datetime | None, now: datetime,
               status: CaseStatus) -> bool:
    """超期: handled after the deadline, or still not handled when the deadline has passed.

    A recalled case is never overdue; it left our hands.
    """
    if status == S.recalled:
        return False
    if handled_at is not None:
        return handled_at > deadline_at
    return now > deadline_at
