"""Firing due timers, a batch at a time, in one transaction with a fixed number of statements.

Each batch: claim the due timers (SKIP LOCKED: replicas take disjoint rows) and lock their cases in
id order, read the policies and everyone the batch may reach, then write reminders, outbox rows,
call tasks and timer states in one statement (``firing_repository.py``). A crash before commit
leaves it all as it was and another replica fires it; the unique keys (reminder per timer, outbox
idem_key) make a second write impossible. Per timer there is only Python that must be Python: the
regulation's rules, the recipients and the Chinese text.
"""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.timers import rules
from services.core.timers.firing_repository import FiringRepository, Writes
from services.core.timers.rules import Channel

NODE_GONE = "node no longer in its policy"


@dataclass(frozen=True)
class Fired:
    timer_id: int
    case_id: int
    node_key: str
    due_at: datetime
    fired_at: datetime
    skipped: str | None  # the reason, or None when it fired
    trace_id: str | None = None  # the case's: the escalator logs the node under it


@dataclass(frozen=True)
class _Audience:
    """Everyone a batch may reach, from one query."""

    by_community: dict[int | None, list[asyncpg.Record]]  # role rows; None: street-wide roles
    responsible: dict[int, asyncpg.Record]
    operators: dict[int, list[int]]


@functools.lru_cache(maxsize=64)
def _policy(kind: str, nodes: str, quiet: str | None) -> tuple[rules.Policy, dict[str, rules.Node]]:
    """A stored policy version parsed once (keyed by its content, so an edited row is re-read)."""
    policy = rules.policy_from_json(kind, json.loads(nodes), json.loads(quiet) if quiet else None)
    return policy, {n.key: n for n in policy.nodes}


async def fire_due(session: AsyncSession, now: datetime, *, limit: int = 100) -> list[Fired]:
    """Fire (or skip) one batch of due timers in the caller's transaction."""
    repo = FiringRepository(session)
    due = await repo.claim(now, limit)
    if not due:
        return []
    cases = await repo.lock_cases({t["case_id"] for t in due})
    policies = {r["id"]: _policy(r["kind"], r["nodes"], r["quiet_hours"])
                for r in await repo.policies(sorted({t["policy_id"] for t in due}))}
    writes = Writes()
    out: list[Fired] = []
    owed: list[tuple[dict[str, Any], rules.Node, rules.Policy]] = []
    for timer in due:
        t = {**cases[timer["case_id"]], **timer}  # the timer's columns, and its case's under lock
        policy, nodes = policies[t["policy_id"]]
        reason = rules.skip_reason(t["generation"], t["timer_generation"], policy.kind, t["status"])
        node = nodes.get(t["node_key"])
        if reason is None and node is None:
            reason = NODE_GONE
        if reason is None and node is not None:
            owed.append((t, node, policy))
            _append(writes.timers, t["id"], "fired", None)
        else:
            _append(writes.timers, t["id"], "skipped", reason)
        out.append(Fired(t["id"], t["case_id"], t["node_key"], t["due_at"], now, reason, t["trace_id"]))
    if owed:
        audience = await _audience(repo, owed)
        reaches: dict[tuple[int, Any, Any, tuple[Channel, ...]], _Reach] = {}
        for t, node, policy in owed:
            channels = rules.channels_at(node, now, policy.quiet_hours)
            key = (id(node), t["community_id"], t["responsible_person_id"], channels)
            reach = reaches.get(key) or reaches.setdefault(key, _reach(node, channels, t, audience))
            operators = audience.operators.get(t["community_id"], []) if t["community_id"] is not None else []
            _plan(writes, t, node, channels, reach, operators)
    await repo.write(now, writes)
    session.expire_all()  # ORM objects the caller holds (a case's reminder count) are stale now
    return out


async def next_due_at(session: AsyncSession) -> datetime | None:
    """The earliest pending timer's due time (None when nothing is pending)."""
    return await FiringRepository(session).next_due_at()


async def _audience(repo: FiringRepository, owed: list[tuple[dict[str, Any], rules.Node, rules.Policy]]
                    ) -> _Audience:
    roles = sorted({r for _, node, _ in owed for r in node.recipients if r != rules.RESPONSIBLE_PERSON})
    communities = sorted({t["community_id"] for t, _, _ in owed if t["community_id"] is not None})
    responsible = sorted({t["responsible_person_id"] for t, node, _ in owed
                          if t["responsible_person_id"] is not None and rules.RESPONSIBLE_PERSON in node.recipients})
    with_operators = any(Channel.operator_task in node.channels for _, node, _ in owed)
    audience = _Audience(defaultdict(list), {}, defaultdict(list))
    for row in await repo.people(roles, communities, responsible, with_operators):
        if row["kind"] == "role":
            audience.by_community[row["community_id"]].append(row)
        elif row["kind"] == "responsible":
            audience.responsible[row["id"]] = row
        else:
            audience.operators[row["community_id"]].append(row["id"])
    return audience


@dataclass(frozen=True)
class _Reach:
    """Who one node reaches for one community and responsible person, with the JSON of each part
    (computed once per batch: a burst fires the same node for many cases of one community)."""

    recipients_json: str
    channels_json: str
    call_person_ids_json: str
    group_json: str  # the @-message's recipient: the community and the mobiles to mention
    by_phone: tuple[tuple[int, str], ...]  # (person id, recipient JSON) of each person with a mobile
    by_wecom: tuple[tuple[int, str], ...]  # the same, of each person with a WeCom userid


def _reach(node: rules.Node, channels: tuple[Channel, ...], t: dict[str, Any], audience: _Audience) -> _Reach:
    """The people a node reaches, once each, with the role that brought them in."""
    found: dict[int, dict[str, Any]] = {}
    person = audience.responsible.get(t["responsible_person_id"]) \
        if rules.RESPONSIBLE_PERSON in node.recipients else None
    if person is not None:
        found[person["id"]] = {"person_id": person["id"], "name": person["name"], "mobile": person["mobile"],
                               "wecom_userid": person["wecom_userid"], "role": rules.RESPONSIBLE_PERSON}
    for row in [*audience.by_community.get(None, ()), *audience.by_community.get(t["community_id"], ())]:
        if row["role"] in node.recipients:
            found.setdefault(row["id"], {"person_id": row["id"], "name": row["name"], "mobile": row["mobile"],
                                         "wecom_userid": row["wecom_userid"], "role": row["role"]})
    recipients = sorted(found.values(), key=lambda r: r["person_id"])
    with_mobile = [r for r in recipients if r.get("mobile")]
    return _Reach(
        recipients_json=json.dumps(recipients, ensure_ascii=False),
        channels_json=json.dumps([c.value for c in channels]),
        call_person_ids_json=json.dumps([r["person_id"] for r in recipients]),
        group_json=json.dumps({"community_id": t["community_id"],
                               "mentioned_mobiles": [r["mobile"] for r in with_mobile]}),
        by_phone=tuple((r["person_id"], json.dumps({"person_id": r["person_id"], "name": r["name"],
                                                    "mobile": r["mobile"]}, ensure_ascii=False))
                       for r in with_mobile),
        by_wecom=tuple((r["person_id"], json.dumps({"person_id": r["person_id"], "name": r["name"],
                                                    "wecom_userid": r["wecom_userid"]}, ensure_ascii=False))
                       for r in recipients if r.get("wecom_userid")))


def _plan(w: Writes, t: dict[str, Any], node: rules.Node, channels: tuple[Channel, ...], reach: _Reach,
          operators: list[int]) -> None:
    """One fired node's reminder, outbox rows (one group @-message, or one per person and channel)
    and operators' call tasks, appended to the batch's columns."""
    timer_id, case_id = t["id"], t["case_id"]
    _append(w.reminders, case_id, timer_id, node.key, node.label, reach.channels_json, reach.recipients_json)
    text = rules.reminder_text(node, district_case_id=t["district_case_id"], title=t["title"],
                               community=t["community_name"], due_at=t["due_at"],
                               dispatched_at=t["dispatched_at"], deadline_at=t["deadline_at"])
    # params: the variables of the SMS and voice templates approved at the vendor
    message = json.dumps({"text": text, "case_id": case_id, "params": {
        "case": t["district_case_id"], "title": t["title"][:20], "node": node.label,
        "community": t["community_name"] or ""}}, ensure_ascii=False)
    for channel in channels:
        if channel == Channel.operator_task:
            for operator_id in operators:
                _append(w.tasks, timer_id, case_id, operator_id, node.label, reach.call_person_ids_json, t["due_at"])
        elif channel in rules.GROUP_CHANNELS:  # one message to the group, mentioning the people
            _append(w.outbox, timer_id, f"timer:{timer_id}:{channel.value}", channel.value, reach.group_json,
                    message, case_id)
        else:
            for person_id, recipient in reach.by_wecom if channel == Channel.wecom_app else reach.by_phone:
                _append(w.outbox, timer_id, f"timer:{timer_id}:{channel.value}:{person_id}", channel.value,
                        recipient, message, case_id)


def _append(columns: tuple[list[Any], ...], *values: Any) -> None:
    for column, value in zip(columns, values, strict=True):
        column.append(value)
