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


def _out_id(delivery: Delivery) -> str:
    """OutId travels with the message to receipts (for finding an ambiguous send later)."""
    return f"ld{delivery.outbox_id}"


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
        """QuerySendDetails by number and date, matched on our OutId (the BizId was in the lost answer).

        SendStatus 1 (waiting for the handset's receipt) and 3 (delivered) mean it went out; 2 failed.
        """
        mobile = str(delivery.recipient.get("mobile") or "")
        summary = f"QuerySendDetails {_mask(mobile)} out_id {_out_id(delivery)} dates {','.join(sent_on)}"
        for day in sent_on:
            params = {"PhoneNumber": mobile, "SendDate": day, "PageSize": "50", "CurrentPage": "1"}
            try:
                r = await self.rpc.client.post(self.rpc.endpoint, data=self.rpc.signed("QuerySendDetails", params))
                data = r.json()
                code = str(data["Code"])
            except (httpx.TransportError, ValueError, KeyError, TypeError) as exc:
                return LookupResult(Found.undecided, code=type(exc).__name__, request_summary=summary)
            if code != "OK":
                return LookupResult(Found.undecided, code=code, request_summary=summary,
                                    response={"Code": code, "Message": str(data.get("Message", ""))[:200]})
            details = (data.get("SmsSendDetailDTOs") or {}).get("SmsSendDetailDTO") or []
            mine = [d for d in details if isinstance(d, dict) and d.get("OutId") == _out_id(delivery)]
            if mine:
                status = int(mine[-1].get("SendStatus", 1))
                response = {"SendStatus": status, "ErrCode": str(mine[-1].get("ErrCode", ""))[:60]}
                found = Found.failed if status == 2 else Found.accepted
                return LookupResult(found, provider_ref=_out_id(delivery), code=f"SendStatus={status}",
                                    response=response, request_summary=summary)
        return LookupResult(Found.absent, code="not_found", request_summary=summary)


class AliyunVoiceChannel(_PhoneChannel):
    name, action, ref_field = "voice", "SingleCallByTts", "CallId"

    def __init__(self, rpc: AliyunRpc, tts_code: str, show_number: str) -> None:
        super().__init__(rpc, tts_code)
        self.show_number = show_number

    def params(self, delivery: Delivery, mobile: str) -> dict[str, str]:
        return {"CalledNumber": mobile, "CalledShowNumber": self.show_number, "TtsCode": self.template,
                "TtsParam": json.dumps(delivery.params, ensure_ascii=False), "OutId": _out_id(delivery)}
