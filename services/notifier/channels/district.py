"""The district platform (金凤区大联动): the street's calls to it (签收, 回复, and later the upload of
active cases), signed like the district's own webhook to us.

POST {base}/api/v1/street/events, JSON body, ``X-Liandong-Timestamp`` (unix seconds) and
``X-Liandong-Signature`` (hex HMAC-SHA256 of ``"{timestamp}.{body}"`` with the shared secret).
The district answers ``{"code": 0}`` (also for an ``event_id`` it has already taken), a business
error as ``{"code": <non-zero>, "message": …}``, 429 with ``Retry-After`` when we go too fast.
Because the district drops a repeated ``event_id``, a lost answer is safe to retry.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx

from services.core.cases.district_contract import sign
from services.notifier.channels.base import Delivery, Outcome, SendResult

RETRYABLE_CODES = {"busy", "unavailable"}


class DistrictChannel:
    name = "district"

    def __init__(self, client: httpx.AsyncClient, base_url: str, secret: str,
                 wall_clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.secret = secret
        self.wall_clock = wall_clock

    def rate_key(self, delivery: Delivery) -> str | None:
        return None  # the district says 429 when it needs us to slow down

    async def send(self, delivery: Delivery) -> SendResult:
        event = delivery.event
        summary = f"district {event.get('type')} {event.get('district_case_id')} event {event.get('event_id')}"
        if not event.get("event_id"):
            return SendResult(Outcome.permanent, code="no_event", request_summary=summary)
        raw = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
        ts = str(int(self.wall_clock()))
        headers = {"Content-Type": "application/json", "X-Liandong-Timestamp": ts,
                   "X-Liandong-Signature": sign(self.secret, ts, raw)}
        try:
            r = await self.client.post(f"{self.base_url}/api/v1/street/events", content=raw, headers=headers)
        except httpx.TransportError as exc:  # the district drops a repeated event_id: retry
            return SendResult(Outcome.retryable, code=type(exc).__name__, request_summary=summary)
        if r.status_code == 429:
            retry_after = _seconds(r.headers.get("Retry-After"), 30.0)
            return SendResult(Outcome.rate_limited, code="http_429", retry_after=retry_after,
                              request_summary=summary)
        if r.status_code >= 500 or r.status_code == 408:
            return SendResult(Outcome.retryable, code=f"http_{r.status_code}", request_summary=summary)
        try:
            data = r.json()
            code = str(data["code"])
        except (ValueError, KeyError, TypeError):
            outcome = Outcome.permanent if 400 <= r.status_code < 500 else Outcome.retryable
            return SendResult(outcome, code=f"http_{r.status_code}", request_summary=summary)
        response = {"code": code, "message": str(data.get("message", ""))[:200]}
        if code == "0":
            return SendResult(Outcome.sent, code="0", provider_ref=str(data.get("receipt") or event["event_id"]),
                              response=response, request_summary=summary)
        if code in RETRYABLE_CODES:
            return SendResult(Outcome.retryable, code=code, response=response, request_summary=summary)
        # e.g. unknown_case, signature_invalid, invalid_body: a person must look (dead letter + alert)
        return SendResult(Outcome.permanent, code=code, response=response, request_summary=summary)


def _seconds(value: str | None, default: float) -> float:
    try:
        return max(1.0, float(value)) if value else default
    except ValueError:
        return default
