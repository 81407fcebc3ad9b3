"""The notifier's work: claim outbox messages with a lease, send, record, sort the result.

At least once: a message is marked sent only after the vendor said so; a crash between the two
sends it again once its lease expires (the documented duplicate window). Each result is one of
sent / retryable (backoff with jitter, capped by attempts and age) / rate_limited (the sender is
paused, the message waits, the attempt does not count) / permanent (dead letter, and the linked
operators get a call task) / ambiguous: the answer to a billable send was lost. An ambiguous SMS
is searched for in the vendor's records (by our OutId) before anything is resent; an ambiguous
call has no record to search by, so a person confirms it by phone.

Every line logged about a message carries its trace id as the request id (``logs.bound``): the id
of the api request that created its case, so one id follows a case through all three processes.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.core.clock import SHANGHAI, Clock
from services.core.db import transaction
from services.core.logs import bound
from services.core.outbox.models import OutboxMessage
from services.core.outbox.repository import OutboxRepository
from services.notifier.channels.base import Channel, Delivery, Found, LookupResult, Outcome, SendResult

log = logging.getLogger(__name__)
RESULTS = Counter("liandong_notifier_results_total", "Delivery attempts by channel and outcome",
                  ["channel", "outcome"])


@dataclass(frozen=True)
class DeliveryPolicy:
    lease: timedelta = timedelta(seconds=60)
    max_attempts: int = 8
    max_age: timedelta = timedelta(hours=2)
    backoff_base: float = 2.0  # seconds; doubled per attempt, full jitter
    backoff_cap: float = 300.0
    concurrency: int = 8
    # An ambiguous SMS is searched for in the vendor's records this long after (they appear within
    # seconds), and again at this interval while the search is undecided, up to ``max_age``.
    lookup_delay: timedelta = timedelta(seconds=60)
    # Calls to the district must outlive its outages: many attempts over days, not 8 over minutes.
    patient_channels: frozenset[str] = frozenset({"district"})
    patient_max_attempts: int = 500
    patient_max_age: timedelta = timedelta(days=7)
    # Sliding-window limits per sender: WeCom robots take 20 messages a minute.
    # WeCom app: 30 a minute per (app, person), beyond which WeCom drops messages without an error.
    # DingTalk: 20 a minute per robot. Feishu: 100 a minute per robot (its 5 a second is left to the
    # 11232 pause: group reminders of one street never come that fast).
    limits: tuple[tuple[str, int, timedelta], ...] = (
        ("wecom_robot:", 20, timedelta(seconds=60)), ("wecom_app:", 30, timedelta(seconds=60)),
        ("dingtalk:", 20, timedelta(seconds=60)), ("feishu:", 100, timedelta(seconds=60)))


_Result = tuple[list[OutboxMessage], SendResult, int, str | None]  # group, result, latency ms, rate key


def short_key(rate_key: str) -> str:
    """Rate keys are stored in 80 characters; a long one (a long WeCom userid) keeps its prefix and a hash."""
    if len(rate_key) <= 80:
        return rate_key
    return f"{rate_key[:40]}#{hashlib.sha256(rate_key.encode()).hexdigest()[:24]}"


def clip(value: str | None, size: int) -> str | None:
    """Vendor-supplied text cut to its column: a long answer must not make the record fail."""
    return None if value is None else value[:size]


class Notifier:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], channels: dict[str, Channel],
                 clock: Clock, policy: DeliveryPolicy | None = None, rng: random.Random | None = None) -> None:
        self.sessionmaker = sessionmaker
        self.channels = channels
        self.clock = clock
        self.policy = policy or DeliveryPolicy()
        self.rng = rng or random.Random()
        self._unrecorded: list[tuple[_Result, asyncio.Future[None]]] = []
        self._recording = asyncio.Lock()
        self._in_flight: set[asyncio.Task[None]] = set()  # the pump's sends, across its calls

    async def run_once(self, limit: int = 50) -> int:
        """Claim and handle one batch; the number of messages handled.

        The batch's messages go out concurrently (``concurrency`` at a time): each waits on its
        vendor, not on the others. Limits per sender hold anyway (they are checked in Postgres).
        """
        batch = await self._claim(limit)
        gate = asyncio.Semaphore(self.policy.concurrency)

        async def one(group: list[OutboxMessage]) -> None:
            async with gate:
                await self._deliver_guarded(group)

        await asyncio.gather(*(one(g) for g in merge_group_messages(batch)))
        return len(batch)

    async def pump(self, recheck_seconds: float = 1.0, budget_seconds: float = 2.0) -> int:
        """Keep ``concurrency`` sends in flight for up to ``budget_seconds``; the number of messages claimed.

        Unlike ``run_once``, which waits for its whole batch, a freed slot is refilled at once: a vendor
        that answers slowly (or not at all, until the timeout) holds up one slot, not every message
        behind it. Only what can start at once is claimed, so no claimed message sits out its lease
        waiting for a slot; while sends are in flight, new messages are looked for every ``recheck_seconds``.
        The pump returns when nothing is left to do or the budget is spent, so the worker loop gets to
        heed a SIGTERM under a never-ending queue; sends still in flight then carry on into the next
        call, and ``drain`` waits for them on the way out.
        """
        handled = 0
        refill = max(1, self.policy.concurrency // 4)  # claim in small batches, not one message per claim
        claim_until = time.monotonic() + budget_seconds
        while (remaining := claim_until - time.monotonic()) > 0:
            free = self.policy.concurrency - len(self._in_flight)
            if free >= refill or not self._in_flight:
                batch = await self._claim(free)
                handled += len(batch)
                self._in_flight.update(asyncio.create_task(self._deliver_guarded(g))
                                       for g in merge_group_messages(batch))
            if not self._in_flight:
                break
            _, self._in_flight = await asyncio.wait(self._in_flight, timeout=min(recheck_seconds, remaining),
                                                    return_when=asyncio.FIRST_COMPLETED)
        return handled

    @property
    def busy(self) -> bool:
        """Sends are still in flight from an earlier ``pump``."""
        return bool(self._in_flight)

    async def drain(self) -> None:
        """Wait for the sends in flight and their records (a graceful stop)."""
        if self._in_flight:
            await asyncio.wait(self._in_flight)
            self._in_flight.clear()

    async def _claim(self, limit: int) -> Sequence[OutboxMessage]:
        async with transaction(self.sessionmaker) as session:
            return await OutboxRepository(session).claim(self.clock.now(), lease=self.policy.lease, limit=limit)

    async def _deliver_guarded(self, group: list[OutboxMessage]) -> None:
        # Each group runs in its own task, so the bound trace id stays with its lines.
        with bound(group[0].trace_id):
            try:
                await self._deliver(group)
            except Exception:  # one message's failure must not stop the others; its lease brings it back
                log.exception("delivering outbox %s failed", [m.id for m in group])

    async def _deliver(self, group: list[OutboxMessage]) -> None:
        message = group[0]
        channel = self.channels.get(message.channel)
        async with transaction(self.sessionmaker) as session:
            repo = OutboxRepository(session)
            robot_key = await repo.robot_key(message.recipient.get("community_id")) \
                if message.channel == "wecom_robot" else None
        recipient = dict(message.recipient)
        if len(group) > 1:  # one message to the group for reminders that fell due together
            recipient["mentioned_mobiles"] = list(dict.fromkeys(
                m for g in group for m in g.recipient.get("mentioned_mobiles") or []))
        text = "\n".join(str(g.message.get("text", "")) for g in group)
        delivery = Delivery(message.id, message.idem_key, recipient, text, robot_key=robot_key,
                            attempt=message.attempts, params=dict(message.message.get("params") or {}),
                            event=dict(message.message.get("event") or {}))
        if channel is None:
            await self._record(group, SendResult(Outcome.permanent, code="no_such_channel",
                                                 request_summary=message.channel), 0)
            return
        if message.state == "looking_up":
            await self._look_up(message, channel, delivery)
            return
        if message.attempts > self._max_attempts(message) + 2:  # reclaimed again and again, never recorded
            await self._record(group, SendResult(Outcome.permanent, code="stuck",
                                                 request_summary="claimed past its attempts without an outcome"), 0)
            return
        rate_key = channel.rate_key(delivery)
        if rate_key is not None:
            wait = await self._take_slot(rate_key)
            if wait > 0:  # the sender's window is full: wait for it, without spending an attempt
                async with transaction(self.sessionmaker) as session:
                    for m in group:
                        await OutboxRepository(session).finish(
                            m.id, held=m.lease_until, state="pending", attempts=m.attempts - 1,
                            next_attempt_at=self.clock.now() + timedelta(seconds=wait))
                return
        started = time.perf_counter()
        result = await channel.send(delivery)
        await self._record(group, result, int((time.perf_counter() - started) * 1000), rate_key)

    async def _look_up(self, message: OutboxMessage, channel: Channel, delivery: Delivery) -> None:
        """An ambiguous send: search the vendor's records, then count it sent, send again, or look again."""
        lookup = getattr(channel, "lookup", None)
        now = self.clock.now()
        started = time.perf_counter()
        if lookup is None:  # the channel lost its lookup (a configuration change): a person decides
            found = LookupResult(Found.undecided, code="no_lookup", request_summary=message.channel)
        else:
            days = beijing_dates(message.created_at, now)  # the ambiguous send happened in between
            found = await lookup(delivery, days)
        latency_ms = int((time.perf_counter() - started) * 1000)
        async with transaction(self.sessionmaker) as session:
            repo = OutboxRepository(session)
            finish = partial(repo.finish, message.id, held=message.lease_until)  # only while the lease is ours
            await repo.record_attempt({
                "outbox_id": message.id, "attempt": message.attempts, "channel": message.channel,
                "outcome": f"lookup_{found.found.value}", "code": clip(found.code, 60),
                "provider_ref": clip(found.provider_ref, 100),
                "request_summary": found.request_summary[:300], "response": found.response,
                "latency_ms": latency_ms, "started_at": now})
            if found.found == Found.accepted:
                await finish(state="sent", sent_at=now, last_error=None)
            elif found.found in (Found.failed, Found.absent) and not self._exhausted(message):
                await finish(state="pending", next_attempt_at=now, last_error=found.code)
            elif found.found == Found.undecided and lookup is not None and (
                    now - message.created_at <= self._max_age(message)):
                await finish(state="checking", next_attempt_at=now + self.policy.lookup_delay,
                                  last_error=found.code)
            elif found.found in (Found.failed, Found.absent):  # not delivered, and out of attempts
                await finish(state="dead", last_error=found.code)
                await repo.alert_operators(message, f"通知失败（{message.channel}）：请电话联系", now)
            else:
                await finish(state="unknown", last_error=found.code)
                await repo.alert_operators(message, f"通知状态不明（{message.channel}）：请电话确认", now)
        RESULTS.labels(message.channel, f"lookup_{found.found.value}").inc()

    async def _take_slot(self, rate_key: str) -> float:
        for prefix, limit, window in self.policy.limits:
            if rate_key.startswith(prefix):
                async with transaction(self.sessionmaker) as session:
                    return await OutboxRepository(session).take_slot(short_key(rate_key), self.clock.now(),
                                                                     limit=limit, window=window)
        return 0.0

    async def _record(self, group: list[OutboxMessage], result: SendResult, latency_ms: int,
                      rate_key: str | None = None) -> None:
        """Write a result, and return once it is committed (raise if it could not be).

        Group commit: results that finish while a write is in flight wait for it and then go in the
        next one together, so a message is recorded right after its send (the duplicate window
        stays one write long) while a busy notifier pays one transaction per many messages. If a
        shared write fails, each result is written on its own, so one bad result fails only itself.
        """
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._unrecorded.append(((group, result, latency_ms, rate_key), done))
        async with self._recording:
            if not done.done():  # not taken by the write that just finished
                items, self._unrecorded = self._unrecorded, []
                try:
                    await self._write([item for item, _ in items])
                    for _, fut in items:
                        fut.set_result(None)
                except Exception:
                    log.exception("a shared write of %d results failed; writing them one by one", len(items))
                    for item, fut in items:
                        try:
                            await self._write([item])
                            fut.set_result(None)
                        except Exception as exc:
                            fut.set_exception(exc)
        await done

    async def _write(self, items: list[_Result]) -> None:
        now = self.clock.now()
        sent = [(m, r, ms) for group, r, ms, _ in items if r.outcome == Outcome.sent for m in group]
        async with transaction(self.sessionmaker) as session:
            repo = OutboxRepository(session)
            if sent:  # the common case, in one statement
                await repo.record_sent([{
                    "id": m.id, "attempt": m.attempts, "channel": m.channel, "code": clip(r.code, 60),
                    "ref": clip(r.provider_ref, 100), "lease_until": m.lease_until,
                    "summary": r.request_summary[:300], "response": r.response, "latency_ms": ms} for m, r, ms in sent],
                    now)
            for group, result, latency_ms, rate_key in items:
                for message in group:
                    # A group commit writes other tasks' results too: bind each message's own trace id.
                    with bound(message.trace_id):
                        RESULTS.labels(message.channel, result.outcome.value).inc()
                        log.info("outbox %s %s: %s", message.id, message.channel, result.outcome.value,
                                 extra={"outbox_id": message.id, "case_id": message.case_id,
                                        "channel": message.channel, "outcome": result.outcome.value,
                                        "code": result.code, "latency_ms": latency_ms})
                        if result.outcome != Outcome.sent:
                            await self._apply(repo, message, result, latency_ms, rate_key, now)

    async def _apply(self, repo: OutboxRepository, message: OutboxMessage, result: SendResult, latency_ms: int,
                     rate_key: str | None, now: datetime) -> None:
        finish = partial(repo.finish, message.id, held=message.lease_until)  # only while the lease is ours
        await repo.record_attempt({
            "outbox_id": message.id, "attempt": message.attempts, "channel": message.channel,
            "outcome": result.outcome.value, "code": clip(result.code, 60),
            "provider_ref": clip(result.provider_ref, 100),
            "request_summary": result.request_summary[:300], "response": result.response,
            "latency_ms": latency_ms, "started_at": now})
        if result.outcome == Outcome.rate_limited:
            wait = timedelta(seconds=result.retry_after or 60)
            if rate_key is not None:
                await repo.pause(short_key(rate_key), now + wait)
            await finish(state="pending", attempts=message.attempts - 1,
                              next_attempt_at=now + wait, last_error=result.code)
        elif result.outcome == Outcome.retryable and not self._exhausted(message):
            await finish(state="pending", next_attempt_at=now + self._backoff(message.attempts),
                              last_error=result.code)
        elif result.outcome == Outcome.ambiguous and hasattr(self.channels.get(message.channel), "lookup"):
            # Possibly delivered (a billable SMS): never resent before the vendor's records say it is not.
            await finish(state="checking", next_attempt_at=now + self.policy.lookup_delay,
                              last_error=result.code)
        elif result.outcome == Outcome.ambiguous:
            # Possibly delivered, and nothing to search by (a call's id was in the lost answer): a person
            # confirms by phone rather than the callee being rung twice.
            await finish(state="unknown", last_error=result.code)
            await repo.alert_operators(message, f"通知状态不明（{message.channel}）：请电话确认", now)
        else:
            await finish(state="dead", last_error=result.code)
            log.error("dead letter: outbox %s (%s) after %s attempt(s): %s", message.id, message.channel,
                      message.attempts, result.code)
            # The fallback channel is a person: the linked operators get a call task for it.
            await repo.alert_operators(message, f"通知失败（{message.channel}）：请电话联系", now)

    def _max_attempts(self, message: OutboxMessage) -> int:
        patient = message.channel in self.policy.patient_channels
        return self.policy.patient_max_attempts if patient else self.policy.max_attempts

    def _max_age(self, message: OutboxMessage) -> timedelta:
        return self.policy.patient_max_age if message.channel in self.policy.patient_channels else self.policy.max_age

    def _exhausted(self, message: OutboxMessage) -> bool:
        return message.attempts >= self._max_attempts(message) or (
            self.clock.now() - message.created_at > self._max_age(message))

    def _backoff(self, attempts: int) -> timedelta:
        """Exponential backoff with full jitter."""
        ceiling = min(self.policy.backoff_cap, self.policy.backoff_base * 2 ** max(0, attempts - 1))
        return timedelta(seconds=self.rng.uniform(ceiling / 2, ceiling))


def beijing_dates(since: datetime, until: datetime) -> list[str]:
    """Every Beijing date (yyyyMMdd) from ``since`` to ``until``: where a send in between is recorded."""
    first, last = since.astimezone(SHANGHAI).date(), until.astimezone(SHANGHAI).date()
    return [(first + timedelta(days=i)).strftime("%Y%m%d") for i in range((last - first).days + 1)][-7:]


MERGE_WINDOW = timedelta(seconds=2)
MERGE_MAX_BYTES = 1800  # leaves room under the robot's 2048-byte text limit


def merge_group_messages(batch: Sequence[OutboxMessage]) -> list[list[OutboxMessage]]:
    """Group-robot messages to one community that fell due within ``MERGE_WINDOW`` of each other go
    out as one message (each robot takes 20 a minute); everything else goes alone."""
    groups: list[list[OutboxMessage]] = []
    open_by_community: dict[object, list[OutboxMessage]] = {}
    for m in batch:
        community = m.recipient.get("community_id") if m.channel == "wecom_robot" else None
        group = open_by_community.get(community) if community is not None else None
        size = sum(len(str(g.message.get("text", "")).encode()) + 1 for g in group) if group else 0
        if (group is not None and m.next_attempt_at - group[0].next_attempt_at <= MERGE_WINDOW
                and size + len(str(m.message.get("text", "")).encode()) <= MERGE_MAX_BYTES):
            group.append(m)
            continue
        groups.append([m])
        if community is not None:
            open_by_community[community] = groups[-1]
    return groups
