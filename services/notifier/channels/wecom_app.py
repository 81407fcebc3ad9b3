"""WeCom application message (企业微信应用消息): text straight to people by their WeCom userid.

GET {base}/cgi-bin/gettoken?corpid&corpsecret gives an access token (7200 s); POST
{base}/cgi-bin/message/send?access_token=… sends. Every answer is HTTP 200 with an errcode. The
token is cached and refreshed by one caller at a time (gettoken is rate-limited); a 40014 or 42001
refreshes it and retries once. ``enable_duplicate_check`` makes WeCom drop an identical message
within the retry horizon, so unlike SMS a lost answer is safe to retry. The server silently drops
more than 30 messages a minute per (app, person): our sliding window keeps under it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx

from services.notifier.channels.base import Delivery, Outcome, SendResult
from services.notifier.channels.wecom_robot import truncate_utf8

TOKEN_CODES = {40014, 42001}  # invalid / expired access token: refresh and retry once
PERMANENT = {40001: "invalid corpsecret", 40013: "invalid corpid", 40091: "secret is invalid",
             60020: "IP not in the trusted list", 81013: "user & party & tag all invalid",
             40058: "invalid parameter", 40008: "bad msgtype", 301002: "not allowed to send to user"}
RATE_LIMITED = {45009: 60.0, 45033: 60.0}
DUPLICATE_CHECK_SECONDS = 14400  # the longest WeCom allows; covers the notifier's retry horizon
TOKEN_MARGIN = 300.0  # refresh this long before WeCom says the token expires
TOKEN_FAILURE_HOLD = 5.0  # seconds a failed gettoken is answered from memory


class _TokenError(Exception):
    def __init__(self, result: SendResult) -> None:
        self.result = result


class WecomAppChannel:
    name = "wecom_app"

    def __init__(self, client: httpx.AsyncClient, base_url: str, corp_id: str, secret: str, agent_id: int,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.corp_id = corp_id
        self.secret = secret
        self.agent_id = agent_id
        self.monotonic = monotonic
        self._token: str | None = None
        self._token_expires = 0.0
        self._refreshing = asyncio.Lock()
        self._failure: tuple[float, SendResult] | None = None  # a failed gettoken, kept a few seconds

    def rate_key(self, delivery: Delivery) -> str | None:
        userid = delivery.recipient.get("wecom_userid")
        return f"wecom_app:{self.agent_id}:{userid}" if userid else None

    async def token(self, *, stale: str | None = None) -> str:
        """The cached token, fetched by one caller at a time; ``stale``: the token WeCom refused."""
        async with self._refreshing:
            if self._token is not None and self._token != stale and self.monotonic() < self._token_expires:
                return self._token
            if self._failure is not None and self.monotonic() < self._failure[0]:
                raise _TokenError(self._failure[1])  # the callers queued behind a failure do not repeat it
            try:
                return await self._fetch_token()
            except _TokenError as exc:
                self._failure = (self.monotonic() + TOKEN_FAILURE_HOLD, exc.result)
                raise

    async def _fetch_token(self) -> str:
        try:
            r = await self.client.get(f"{self.base_url}/cgi-bin/gettoken",
                                      params={"corpid": self.corp_id, "corpsecret": self.secret})
        except httpx.TransportError as exc:
            raise _TokenError(SendResult(Outcome.retryable, code=f"gettoken:{type(exc).__name__}",
                                         request_summary="gettoken")) from exc
        data = _body(r)
        errcode = _errcode(data)
        if errcode != 0 or not data.get("access_token"):
            outcome = Outcome.permanent if errcode in PERMANENT else Outcome.retryable
            raise _TokenError(SendResult(outcome, code=f"gettoken:{errcode}", request_summary="gettoken",
                                         response={"errcode": errcode,
                                                   "errmsg": str(data.get("errmsg", ""))[:200]}))
        self._token = str(data["access_token"])
        self._token_expires = self.monotonic() + float(data.get("expires_in", 7200)) - TOKEN_MARGIN
        return self._token

    async def send(self, delivery: Delivery) -> SendResult:
        userid = delivery.recipient.get("wecom_userid")
        summary = f"wecom_app agent {self.agent_id} to person {delivery.recipient.get('person_id')}"
        if not userid:
            return SendResult(Outcome.permanent, code="no_wecom_userid", request_summary=summary)
        body = {"touser": str(userid), "msgtype": "text", "agentid": self.agent_id,
                "text": {"content": truncate_utf8(delivery.text)}, "safe": 0,
                "enable_duplicate_check": 1, "duplicate_check_interval": DUPLICATE_CHECK_SECONDS}
        try:
            token = await self.token()
            result = await self._post(token, body, summary)
            if result.code in {str(c) for c in TOKEN_CODES}:  # refused token: one refresh, one retry
                result = await self._post(await self.token(stale=token), body, summary)
                # Refused again: left to the backoff (WeCom may be mid-rotation), not a dead letter.
            return result
        except _TokenError as exc:
            return exc.result

    async def _post(self, token: str, body: dict[str, Any], summary: str) -> SendResult:
        try:
            r = await self.client.post(f"{self.base_url}/cgi-bin/message/send", params={"access_token": token},
                                       json=body)
        except httpx.TransportError as exc:  # WeCom drops the duplicate if it did arrive: retry
            return SendResult(Outcome.retryable, code=type(exc).__name__, request_summary=summary)
        if r.status_code >= 500 or r.status_code == 429:
            return SendResult(Outcome.retryable, code=f"http_{r.status_code}", request_summary=summary)
        data = _body(r)
        errcode = _errcode(data)
        response = {"errcode": errcode, "errmsg": str(data.get("errmsg", ""))[:200],
                    "invaliduser": str(data.get("invaliduser", ""))[:200]}
        if errcode == 0:
            # Some recipients unknown still sends to the rest; ours is one person, so name it.
            code = "invaliduser" if response["invaliduser"] else "0"
            outcome = Outcome.permanent if response["invaliduser"] else Outcome.sent
            return SendResult(outcome, code=code, provider_ref=str(data.get("msgid") or ""), response=response,
                              request_summary=summary)
        if errcode in RATE_LIMITED:
            return SendResult(Outcome.rate_limited, code=str(errcode), retry_after=RATE_LIMITED[errcode],
                              response=response, request_summary=summary)
        if errcode in TOKEN_CODES:
            return SendResult(Outcome.retryable, code=str(errcode), response=response, request_summary=summary)
        if errcode in PERMANENT or (errcode != -1 and 400 <= r.status_code < 500):
            return SendResult(Outcome.permanent, code=str(errcode), response=response, request_summary=summary)
        return SendResult(Outcome.retryable, code=str(errcode), response=response, request_summary=summary)


def _body(r: httpx.Response) -> dict[str, Any]:
    try:
        data = r.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _errcode(data: dict[str, Any]) -> int:
    try:
        return int(data["errcode"])
    except (KeyError, TypeError, ValueError):
        return -1  # unparseable: treated like WeCom's own "system busy"
