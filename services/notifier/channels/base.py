"""One interface for every channel; every result sorted into one of five kinds."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


class Outcome(StrEnum):
    sent = "sent"
    retryable = "retryable"  # try again after a backoff
    rate_limited = "rate_limited"  # pause this sender until its window frees
    permanent = "permanent"  # will never work as it is: dead letter and alert
    ambiguous = "ambiguous"  # may have been delivered (timeout after sending a billable SMS/call)


@dataclass(frozen=True)
class Delivery:
    """What the notifier hands a channel: one outbox row, decoded."""

    outbox_id: int
    idem_key: str
    recipient: dict[str, Any]
    text: str
    robot_key: str | None = None  # the community group's WeCom robot (a credential)
    attempt: int = 1  # which attempt this is (SMS OutIds carry it, so a lookup finds this very send)
    params: dict[str, str] = field(default_factory=dict)  # template variables (SMS, voice)
    event: dict[str, Any] = field(default_factory=dict)  # the body of a call to the district platform


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    code: str | None = None  # the vendor's code (errcode, Code) or our own
    provider_ref: str | None = None
    retry_after: float | None = None  # seconds
    response: dict[str, Any] = field(default_factory=dict)  # the body, credentials removed
    request_summary: str = ""


class Found(StrEnum):
    """What the vendor's records say about a send whose answer was lost."""

    accepted = "accepted"  # it went out: count it as sent
    failed = "failed"  # the vendor took it but it did not reach the person: send again
    absent = "absent"  # the vendor never saw it: safe to send again
    undecided = "undecided"  # the lookup itself failed or the records are not in yet: look again later


@dataclass(frozen=True)
class LookupResult:
    found: Found
    provider_ref: str | None = None
    code: str | None = None
    response: dict[str, Any] = field(default_factory=dict)
    request_summary: str = ""


class LookupChannel(Protocol):
    """A channel whose vendor keeps records we can search by our own id (e.g. SMS ``OutId``)."""

    async def lookup(self, delivery: Delivery, sent_on: list[str]) -> LookupResult:
        """Find ``delivery`` among the vendor's records of the Beijing dates ``sent_on`` (yyyyMMdd)."""
        ...


class Channel(Protocol):
    name: str

    def rate_key(self, delivery: Delivery) -> str | None:
        """The sender whose limit this delivery consumes (None: no limit kept by us)."""
        ...

    async def send(self, delivery: Delivery) -> SendResult:
        ...
