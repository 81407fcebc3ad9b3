"""Reminder and escalation policies of SPEC §3 (被动案件提醒程序, 督办催办程序) as pure functions.

A policy is data: a list of nodes, each with when it falls due, the channels to use and the
recipients by role. Acceptance nodes count from the dispatch (分派); handling nodes are fractions
of the time limit (办理期限), counted from when the street received the case to its deadline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from fractions import Fraction
from typing import Any

from services.core.clock import SHANGHAI


class PolicyKind(StrEnum):
    acceptance = "acceptance"  # 接单提醒: after dispatch, until accepted
    handling = "handling"  # 督办催办: after acceptance, until handled


class Channel(StrEnum):
    wecom_robot = "wecom_robot"  # 微信@提醒 in the community's WeCom group
    wecom_app = "wecom_app"  # 企业微信应用消息 to each person
    dingtalk = "dingtalk"  # the street's DingTalk group robot, where a street uses DingTalk
    feishu = "feishu"  # the street's Feishu group robot
    sms = "sms"
    voice = "voice"  # 电话提醒 by an automatic call
    operator_task = "operator_task"  # a call the operator must make and log
    log = "log"  # development


# Channels that post one message to a group (mentioning the people) rather than one per person.
GROUP_CHANNELS = frozenset({Channel.wecom_robot, Channel.dingtalk, Channel.feishu})

# Who a node reaches, besides the roles of SPEC §1: the case's responsible person (责任人).
RESPONSIBLE_PERSON = "responsible_person"


@dataclass(frozen=True)
class Node:
    key: str
    label: str  # shown to people, in Chinese
    channels: tuple[Channel, ...]
    recipients: tuple[str, ...]  # role names, or RESPONSIBLE_PERSON
    offset: timedelta | None = None  # acceptance: after dispatch
    fraction: Fraction | None = None  # handling: share of the time limit elapsed


@dataclass(frozen=True)
class QuietHours:
    """No voice calls between ``start`` and ``end`` (Beijing time); they become SMS."""

    start: time
    end: time

    def contains(self, when: datetime) -> bool:
        local = when.astimezone(SHANGHAI).time()
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end  # spans midnight


@dataclass(frozen=True)
class Policy:
    kind: PolicyKind
    nodes: tuple[Node, ...]
    quiet_hours: QuietHours | None = None


ACCEPTANCE_DEFAULT = Policy(PolicyKind.acceptance, (
    # "以每 10 分钟为 1 个时间节点，第一次微信@提醒"
    Node("accept.wechat", "接单提醒（微信@）", (Channel.wecom_robot,), ("community_handler",),
         offset=timedelta(minutes=10)),
    # "第二次电话提醒"
    Node("accept.phone", "接单提醒（电话）", (Channel.voice, Channel.operator_task), ("community_handler",),
         offset=timedelta(minutes=20)),
    # "5 分钟内如被提醒社区仍未接单，向业务主管或部门主管汇报，由其直接向社区副主任或主任提醒"
    Node("accept.escalate", "接单超时上报", (Channel.sms, Channel.operator_task),
         ("business_supervisor", "department_supervisor", "community_director", "community_vice_director"),
         offset=timedelta(minutes=25)),
))

HANDLING_DEFAULT = Policy(PolicyKind.handling, (
    # "第一次电话提醒、询问进展情况"
    Node("handle.first_third", "督办提醒（询问进展）", (Channel.voice, Channel.operator_task),
         (RESPONSIBLE_PERSON,), fraction=Fraction(1, 3)),
    # "第二次电话提醒，要求限期处置"
    Node("handle.second_third", "督办提醒（限期处置）", (Channel.voice, Channel.operator_task),
         (RESPONSIBLE_PERSON,), fraction=Fraction(2, 3)),
    # "第三次，向业务主管或部门负责人提请督办，有必要时向分管领导提请督办" (add leader_in_charge to opt in)
    Node("handle.deadline", "超期提请督办", (Channel.sms, Channel.operator_task),
         ("business_supervisor", "department_head"), fraction=Fraction(1, 1)),
))


def plan_acceptance(policy: Policy, dispatched_at: datetime) -> list[tuple[str, datetime]]:
    """Due times of the acceptance nodes: each ``offset`` after the dispatch."""
    assert policy.kind == PolicyKind.acceptance
    return [(n.key, dispatched_at + n.offset) for n in policy.nodes if n.offset is not None]


def plan_handling(policy: Policy, received_at: datetime, deadline_at: datetime, now: datetime
                  ) -> list[tuple[str, datetime]]:
    """Due times of the handling nodes: fractions of the time limit from receipt to deadline.

    Nodes already in the past when planned (a late acceptance, a short extension) are planned
    for ``now``: a reminder that is due is still owed, once.
    """
    assert policy.kind == PolicyKind.handling
    limit = deadline_at - received_at
    out = []
    for n in policy.nodes:
        if n.fraction is None:
            continue
        due = received_at + limit * n.fraction.numerator / n.fraction.denominator
        out.append((n.key, max(due, now)))
    return out


def channels_at(node: Node, when: datetime, quiet: QuietHours | None) -> tuple[Channel, ...]:
    """The node's channels at ``when``: inside quiet hours a voice call becomes an SMS."""
    if quiet is None or not quiet.contains(when):
        return node.channels
    swapped = [Channel.sms if c == Channel.voice else c for c in node.channels]
    return tuple(dict.fromkeys(swapped))


def node_to_json(n: Node) -> dict[str, Any]:
    out: dict[str, Any] = {"key": n.key, "label": n.label, "channels": [c.value for c in n.channels],
                           "recipients": list(n.recipients)}
    if n.offset is not None:
        out["offset_seconds"] = int(n.offset.total_seconds())
    if n.fraction is not None:
        out["fraction"] = [n.fraction.numerator, n.fraction.denominator]
    return out


def node_from_json(d: dict[str, Any]) -> Node:
    return Node(
        key=d["key"], label=d["label"], channels=tuple(Channel(c) for c in d["channels"]),
        recipients=tuple(d["recipients"]),
        offset=timedelta(seconds=d["offset_seconds"]) if "offset_seconds" in d else None,
        fraction=Fraction(*d["fraction"]) if "fraction" in d else None,
    )


def policy_from_json(kind: str, nodes: list[dict[str, Any]], quiet: dict[str, str] | None) -> Policy:
    q = QuietHours(time.fromisoformat(quiet["start"]), time.fromisoformat(quiet["end"])) if quiet else None
    return Policy(PolicyKind(kind), tuple(node_from_json(n) for n in nodes), q)


class ChainEffect(StrEnum):
    start_acceptance = "start_acceptance"
    start_handling = "start_handling"
    stop = "stop"


# What each move of the lifecycle does to the case's reminder chain. Moves not listed leave it.
CHAIN_EFFECTS: dict[str, ChainEffect] = {
    "dispatch": ChainEffect.start_acceptance,  # 分派: the 10/20/25-minute acceptance nodes
    "redispatch": ChainEffect.start_acceptance,
    "accept": ChainEffect.start_handling,  # 接单 stops the acceptance chain "at once"
    "grant_extension": ChainEffect.start_handling,  # a new deadline re-plans the nodes
    "handle": ChainEffect.stop,
    "return": ChainEffect.stop,
    "recall": ChainEffect.stop,
    "close": ChainEffect.stop,
    "reopen": ChainEffect.stop,
}

# A fired node is owed only while the case still waits for what the chain chases.
ACCEPTANCE_WAITS_IN = frozenset({"dispatched"})
HANDLING_WAITS_IN = frozenset({"accepted", "in_progress", "extension_requested"})


def skip_reason(timer_generation: int, case_generation: int, kind: PolicyKind, case_status: str) -> str | None:
    """Why a due node must not fire, or None when it is owed."""
    if timer_generation != case_generation:
        return "superseded"  # accepted, handled, re-dispatched, deadline moved…
    waits_in = ACCEPTANCE_WAITS_IN if kind == PolicyKind.acceptance else HANDLING_WAITS_IN
    if case_status not in waits_in:
        return f"case is {case_status}"
    return None


def reminder_text(node: Node, *, district_case_id: str, title: str, community: str | None,
                  due_at: datetime, dispatched_at: datetime | None, deadline_at: datetime) -> str:
    """The Chinese text sent to people for a node."""
    if node.offset is not None and dispatched_at is not None:
        minutes = int((due_at - dispatched_at).total_seconds() // 60)
        return (f"【大联动·{node.label}】{community or ''}：案件{district_case_id}《{title}》"
                f"已分派{minutes}分钟未接单，请立即接单。")
    deadline = deadline_at.astimezone(SHANGHAI).strftime("%m月%d日%H:%M")
    return (f"【大联动·{node.label}】{community or ''}：案件{district_case_id}《{title}》"
            f"办理期限{deadline}，请抓紧处置并反馈进展。")
