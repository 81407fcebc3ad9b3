"""Alibaba Cloud SMS (SendSms) and voice notifications (SingleCallByTts), RPC style, signed (v1).

Both answer business errors with HTTP 200 and a ``Code``; only ``Code == "OK"`` is success. Both are
billable and not idempotent: a timeout after the request went out is *ambiguous* (never resent
blindly), while a failure to connect is safe to retry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import uuid
from datetime import UTC, datetime
from urllib.parse import quote

import httpx

from services.notifier.channels.base import Delivery, Found, LookupResult, Outcome, SendResult

MAX_LOOKUP_PAGES = 20  # 1,000 records of one number on one day is far more than a street sends
RETRYABLE_CODES = {"isp.SYSTEM_ERROR", "Throttling", "Throttling.User", "Throttling.Api", "ServiceUnavailable"}
_LIMIT_WINDOWS = (("分钟", 60.0), ("小时", 3600.0), ("天", 86400.0))


def percent_encode(value: str) -> str:
    return quote(value, safe="~")


def sign_rpc(params: dict[str, str], secret: str, method: str = "POST") -> str:
    """Signature v1: HMAC-SHA1 over ``METHOD&%2F&encode(sorted query)``, key ``secret&``."""
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))
    to_sign = f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class AliyunRpc:
    """The signed RPC call both products share; ``send`` sorts the answer."""

    def __init__(self, client: httpx.AsyncClient, endpoint: str, version: str, access_key_id: str,
                 access_key_secret: str) -> None:
        self.client = client
        self.endpoint = endpoint
        self.version = version
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret

    def signed(self, action: str, params: dict[str, str]) -> dict[str, str]:
        common = {"AccessKeyId": self.access_key_id, "Action": action, "Format": "JSON", "RegionId": "cn-hangzhou",
                  "SignatureMethod": "HMAC-SHA1", "SignatureNonce": uuid.uuid4().hex, "SignatureVersion": "1.0",
                  "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "Version": self.version}
        all_params = {**common, **params}
        return {**all_params, "Signature": sign_rpc(all_params, self.access_key_secret)}

    async def call(self, action: str, params: dict[str, str], summary: str, ref_field: str) -> SendResult:
        try:
            r = await self.client.post(self.endpoint, data=self.signed(action, params))
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # never reached the vendor
            return SendResult(Outcome.retryable, code=type(exc).__name__, request_summary=summary)
        except httpx.TransportError as exc:  # sent, answer lost: it may have gone out
            return SendResult(Outcome.ambiguous, code=type(exc).__name__, request_summary=summary)
        try:
            data = r.json()
            code = str(data["Code"])
        except (ValueError, KeyError, TypeError):
            outcome = Outcome.retryable if r.status_code >= 500 else Outcome.ambiguous
            return SendResult(outcome, code=f"http_{r.status_code}", request_summary=summary)
        response = {"Code": code, "Message": str(data.get("Message", ""))[:200],
                    "RequestId": str(data.get("RequestId", ""))}
        if code == "OK":
            return SendResult(Outcome.sent, code="OK", provider_ref=str(data.get(ref_field) or ""),
                              response=response, request_summary=summary)
        if code == "isv.BUSINESS_LIMIT_CONTROL":  # this number's window is full: wait it out
            wait = next((s for word, s in _LIMIT_WINDOWS if word in response["Message"]), 60.0)
            return SendResult(Outcome.rate_limited, code=code, retry_after=wait, response=response,
                              request_summary=summary)
        if code in RETRYABLE_CODES or r.status_code >= 500:
            return SendResult(Outcome.retryable, code=code, response=response, request_summary=summary)
        return SendResult(Outcome.permanent, code=code, response=response, request_summary=summary)


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def _out_id(delivery: Delivery) -> str:
    """OutId travels with the send to the vendor's records and receipts: which message, which attempt
    (so a lookup finds this very send, not an earlier one). At most 15 bytes (voice's limit)."""
    return f"L{_b36(delivery.outbox_id)}.{_b36(delivery.attempt)}"[:15]


def _mask(mobile: str) -> str:
    return re.sub(r"(\d{3})\d{4}(\d+)", r"\1****\2", mobile)


class _PhoneChannel:
    """What SMS and voice share: one person's mobile, a signed RPC, the number masked in records."""

    name = ""
    action = ""
    ref_field = ""

    def __init__(self, rpc: AliyunRpc, template: str) -> None:
        self.rpc = rpc
        self.template = template

    def rate_key(self, delivery: Delivery) -> str | None:
        mobile = delivery.recipient.get("mobile")
        return f"{self.name}:{mobile}" if mobile else None

    def params(self, delivery: Delivery, mobile: str) -> dict[str, str]:
        raise NotImplementedError

    async def send(self, delivery: Delivery) -> SendResult:
        mobile = str(delivery.recipient.get("mobile") or "")
        summary = f"{self.action} to {_mask(mobile)} template {self.template} out_id {_out_id(delivery)}"
        if not mobile:
            return SendResult(Outcome.permanent, code="no_mobile", request_summary=summary)
        return await self.rpc.call(self.action, self.params(delivery, mobile), summary, self.ref_field)


class AliyunSmsChannel(_PhoneChannel):
    name, action, ref_field = "sms", "SendSms", "BizId"

    def __init__(self, rpc: AliyunRpc, sign_name: str, template_code: str) -> None:
        super().__init__(rpc, template_code)
        self.sign_name = sign_name

    def params(self, delivery: Delivery, mobile: str) -> dict[str, str]:
        return {"PhoneNumbers": mobile, "SignName": self.sign_name, "TemplateCode": self.template,
                "TemplateParam": json.dumps(delivery.params, ensure_ascii=False), "OutId": _out_id(delivery)}

    async def lookup(self, delivery: Delivery, sent_on: list[str]) -> LookupResult:
        """QuerySendDetails by number and date (every page), matched on this attempt's OutId (the BizId
        was in the lost answer). SendStatus 1 (waiting for the handset's receipt) or 3 (delivered)
        anywhere means it went out; only 2 (failed) means it did not reach the person."""
        mobile = str(delivery.recipient.get("mobile") or "")
        out_id = _out_id(delivery)
        summary = f"QuerySendDetails {_mask(mobile)} out_id {out_id} dates {','.join(sent_on)}"
        statuses: list[int] = []
        for day in sent_on:
            page, seen = 1, 0
            while page <= MAX_LOOKUP_PAGES:
                params = {"PhoneNumber": mobile, "SendDate": day, "PageSize": "50", "CurrentPage": str(page)}
                try:
                    r = await self.rpc.client.post(self.rpc.endpoint,
                                                   data=self.rpc.signed("QuerySendDetails", params))
                    data = r.json()
                    code = str(data["Code"])
                    if code != "OK":
                        return LookupResult(Found.undecided, code=code, request_summary=summary,
                                            response={"Code": code, "Message": str(data.get("Message", ""))[:200]})
                    details = (data.get("SmsSendDetailDTOs") or {}).get("SmsSendDetailDTO") or []
                    total = int(data.get("TotalCount") or 0)
                    statuses += [int(d.get("SendStatus", 1)) for d in details
                                 if isinstance(d, dict) and d.get("OutId") == out_id]
                except (httpx.TransportError, ValueError, KeyError, TypeError, AttributeError) as exc:
                    return LookupResult(Found.undecided, code=type(exc).__name__, request_summary=summary)
                seen += len(details)
                if not details or seen >= total:
                    break
                page += 1
        if not statuses:
            return LookupResult(Found.absent, code="not_found", request_summary=summary)
        went_out = any(s in (1, 3) for s in statuses)
        return LookupResult(Found.accepted if went_out else Found.failed, provider_ref=out_id,
                            code=f"SendStatus={max(statuses) if went_out else 2}",
                            response={"SendStatus": statuses[:10]}, request_summary=summary)


class AliyunVoiceChannel(_PhoneChannel):
    name, action, ref_field = "voice", "SingleCallByTts", "CallId"

    def __init__(self, rpc: AliyunRpc, tts_code: str, show_number: str) -> None:
        super().__init__(rpc, tts_code)
        self.show_number = show_number

    def params(self, delivery: Delivery, mobile: str) -> dict[str, str]:
        return {"CalledNumber": mobile, "CalledShowNumber": self.show_number, "TtsCode": self.template,
                "TtsParam": json.dumps(delivery.params, ensure_ascii=False), "OutId": _out_id(delivery)}
