"""DingTalk and Feishu custom group robots (自定义机器人), each signed with the robot's secret.

Both answer HTTP 200 for everything; the body decides. DingTalk signs the URL
(``timestamp`` in ms, ``sign = base64(HMAC-SHA256(secret, f"{ts}\\n{secret}"))``); Feishu signs
the body (``timestamp`` in s, HMAC-SHA256 keyed by ``f"{ts}\\n{secret}"`` over an empty message).
The token in the URL and the secret are credentials: neither appears in records.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any

import httpx

from services.notifier.channels.base import Delivery, Outcome, SendResult
from services.notifier.channels.wecom_robot import key_fingerprint, truncate_utf8

DINGTALK_PAUSE = 600.0  # 130101: the robot is throttled for 10 minutes
FEISHU_PAUSE = 60.0  # 11232


def dingtalk_sign(timestamp_ms: int, secret: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def feishu_sign(timestamp_s: int, secret: str) -> str:
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _code(raw: Any) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return -1


class _SignedRobot:
    name = ""

    def __init__(self, client: httpx.AsyncClient, base_url: str, token: str, secret: str | None,
                 wall_clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.secret = secret
        self.wall_clock = wall_clock

    def rate_key(self, delivery: Delivery) -> str | None:
        return f"{self.name}:{key_fingerprint(self.token)}"

    def summary(self, delivery: Delivery) -> str:
        mentions = len(delivery.recipient.get("mentioned_mobiles") or [])
        return f"{self.name} robot#{key_fingerprint(self.token)} mentions={mentions}"

    @staticmethod
    def result(code: int, throttled: int, pause: float, summary: str, response: dict[str, Any]) -> SendResult:
        """What a robot's answer code means: 0 sent, ``throttled`` paused for ``pause`` seconds, -1 (a
        system busy, or no code at all) worth retrying, anything else a setting to fix."""
        if code == 0:
            return SendResult(Outcome.sent, code="0", response=response, request_summary=summary)
        if code == throttled:
            return SendResult(Outcome.rate_limited, code=str(code), retry_after=pause, response=response,
                              request_summary=summary)
        outcome = Outcome.retryable if code == -1 else Outcome.permanent
        return SendResult(outcome, code=str(code), response=response, request_summary=summary)

    async def post(self, url: str, body: dict[str, Any], params: dict[str, str], summary: str
                   ) -> tuple[SendResult | None, dict[str, Any]]:
        """The parsed body, or the result when there is none to parse."""
        try:
            r = await self.client.post(url, params=params, json=body)
        except httpx.TransportError as exc:  # a group message is harmless to repeat: retry
            return SendResult(Outcome.retryable, code=type(exc).__name__, request_summary=summary), {}
        if r.status_code >= 500 or r.status_code == 429:
            return SendResult(Outcome.retryable, code=f"http_{r.status_code}", request_summary=summary), {}
        try:
            data = r.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return SendResult(Outcome.retryable, code="unparseable", request_summary=summary), {}
        return None, data


class DingtalkRobotChannel(_SignedRobot):
    name = "dingtalk"

    async def send(self, delivery: Delivery) -> SendResult:
        mobiles = [str(m) for m in delivery.recipient.get("mentioned_mobiles") or []]
        # DingTalk highlights an @ only when the mobile also appears in the text.
        content = truncate_utf8(delivery.text + "".join(f" @{m}" for m in mobiles), 18000)
        body = {"msgtype": "text", "text": {"content": content},
                "at": {"atMobiles": mobiles, "atUserIds": [], "isAtAll": False}}
        params = {"access_token": self.token}
        if self.secret:
            ts = int(self.wall_clock() * 1000)
            params |= {"timestamp": str(ts), "sign": dingtalk_sign(ts, self.secret)}
        summary = self.summary(delivery)
        failed, data = await self.post(f"{self.base_url}/robot/send", body, params, summary)
        if failed is not None:
            return failed
        errcode = _code(data.get("errcode", -1))
        # Any other code, e.g. 310000 (sign, timestamp, keyword, IP whitelist), 300001 (token): configuration.
        return self.result(errcode, 130101, DINGTALK_PAUSE, summary,
                           {"errcode": errcode, "errmsg": str(data.get("errmsg", ""))[:200]})


class FeishuRobotChannel(_SignedRobot):
    name = "feishu"

    async def send(self, delivery: Delivery) -> SendResult:
        # Feishu mentions need Feishu user ids, which we do not keep: the people are named in the text.
        body: dict[str, Any] = {"msg_type": "text", "content": {"text": truncate_utf8(delivery.text, 18000)}}
        if self.secret:
            ts = int(self.wall_clock())
            body |= {"timestamp": str(ts), "sign": feishu_sign(ts, self.secret)}
        summary = self.summary(delivery)
        failed, data = await self.post(f"{self.base_url}/open-apis/bot/v2/hook/{self.token}", body, {}, summary)
        if failed is not None:
            return failed
        code = _code(data.get("code", data.get("StatusCode", -1)))  # the legacy answer says StatusCode
        # Any other code, e.g. 19021 sign/timestamp, 19022 IP, 19024 keyword, 9499 bad request: configuration.
        return self.result(code, 11232, FEISHU_PAUSE, summary,
                           {"code": code, "msg": str(data.get("msg", data.get("StatusMessage", "")))[:200]})
