"""WeCom group robot (企业微信群机器人 / 消息推送): text with @-mentions by mobile.

POST {base}/cgi-bin/webhook/send?key=KEY. Every answer is HTTP 200; the body's errcode decides.
The key is the credential: it never appears in logs, attempts or errors.
"""

from __future__ import annotations

import hashlib

import httpx

from services.notifier.channels.base import Delivery, Outcome, SendResult

TEXT_LIMIT_BYTES = 2048
RATE_LIMIT_COOLDOWN = 65.0  # seconds after a 45009: the limit is 20 per sliding minute
PERMANENT = {93000: "bad or removed robot key", 40058: "invalid parameter or too long", 40008: "bad msgtype"}


def truncate_utf8(text: str, limit: int = TEXT_LIMIT_BYTES) -> str:
    """At most ``limit`` UTF-8 bytes, never cutting a character in two."""
    raw = text.encode()
    if len(raw) <= limit:
        return text
    return raw[: limit - 3].decode(errors="ignore") + "…"


def key_fingerprint(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:12]


class WecomRobotChannel:
    name = "wecom_robot"

    def __init__(self, client: httpx.AsyncClient, base_url: str) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")

    def rate_key(self, delivery: Delivery) -> str | None:
        return f"wecom_robot:{key_fingerprint(delivery.robot_key)}" if delivery.robot_key else None

    async def send(self, delivery: Delivery) -> SendResult:
        if not delivery.robot_key:
            return SendResult(Outcome.permanent, code="no_robot_key",
                              request_summary="community has no WeCom robot configured")
        mobiles = list(delivery.recipient.get("mentioned_mobiles") or [])
        body = {"msgtype": "text", "text": {"content": truncate_utf8(delivery.text),
                                            "mentioned_mobile_list": mobiles}}
        summary = f"wecom_robot key#{key_fingerprint(delivery.robot_key)} mentions={len(mobiles)}"
        try:
            r = await self.client.post(f"{self.base_url}/cgi-bin/webhook/send", params={"key": delivery.robot_key},
                                       json=body)
        except httpx.TransportError as exc:  # a group message is harmless to repeat: retry
            return SendResult(Outcome.retryable, code=type(exc).__name__, request_summary=summary)
        if r.status_code >= 500 or r.status_code == 429:
            return SendResult(Outcome.retryable, code=f"http_{r.status_code}", request_summary=summary)
        try:
            data = r.json()
            errcode = int(data["errcode"])
        except (ValueError, KeyError, TypeError):
            return SendResult(Outcome.retryable, code="unparseable", request_summary=summary)
        response = {"errcode": errcode, "errmsg": str(data.get("errmsg", ""))[:200]}
        if errcode == 0:
            return SendResult(Outcome.sent, code="0", response=response, request_summary=summary)
        if errcode == 45009:
            return SendResult(Outcome.rate_limited, code="45009", retry_after=RATE_LIMIT_COOLDOWN,
                              response=response, request_summary=summary)
        if errcode in PERMANENT or 400 <= r.status_code < 500:
            return SendResult(Outcome.permanent, code=str(errcode), response=response, request_summary=summary)
        return SendResult(Outcome.retryable, code=str(errcode), response=response, request_summary=summary)
