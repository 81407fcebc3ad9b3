"""A fake Alibaba Cloud RPC endpoint (SendSms, SingleCallByTts) that answers like the real one.

It checks the v1 signature with the secret it knows (HTTP 400 SignatureDoesNotMatch otherwise),
answers business errors as HTTP 200 with a ``Code``, keeps the per-callee voice window (1 a
minute → isv.BUSINESS_LIMIT_CONTROL 触发分钟级流控), and plays scripted faults first
(``{"Code": ...}``, ``{"delay": seconds}`` for a timeout after the request arrived); in chaos mode
it also fails, throttles, slows down and loses answers at random (``tests.fakes.chaos``).
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.core.clock import SHANGHAI
from services.notifier.channels.aliyun import sign_rpc
from tests.fakes.chaos import Chaos

MOBILE = re.compile(r"^(\+?86|0086)?1\d{10}$")


@dataclass
class FakeAliyunState:
    access_key_id: str = "fake-ak"
    secret: str = "fake-secret"
    sign_names: set[str] = field(default_factory=lambda: {"北京中路街道"})
    templates: set[str] = field(default_factory=lambda: {"SMS_100001"})
    tts_codes: set[str] = field(default_factory=lambda: {"TTS_200001"})
    now: float = 0.0
    accepted: list[dict[str, Any]] = field(default_factory=list)
    calls: dict[str, deque[float]] = field(default_factory=dict)
    script: deque[dict[str, Any]] = field(default_factory=deque)
    # The Beijing date (yyyyMMdd) stamped on accepted SMS; None: today's.
    date: str | None = None
    # SendStatus reported by QuerySendDetails (1 waiting for the receipt, 2 failed, 3 delivered).
    send_status: int = 3
    chaos: Chaos | None = None  # random faults for the chaos suite

    def today(self) -> str:
        return self.date or datetime.now(SHANGHAI).strftime("%Y%m%d")

    def reset(self) -> None:
        self.accepted.clear()
        self.calls.clear()
        self.script.clear()
        self.date = None
        self.send_status = 3


def _answer(code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"Code": code, "Message": message, "RequestId": str(uuid.uuid4()), **extra})


def build_app(state: FakeAliyunState) -> Starlette:
    async def rpc(request: Request) -> Response:
        try:
            form = dict((await request.form()).items())
        except ClientDisconnect:  # the caller died mid-request (crash tests): nothing arrived
            return Response(status_code=499)
        params = {k: str(v) for k, v in form.items()}
        if state.script:
            scripted = state.script.popleft()
            if "delay" in scripted:
                state.accepted.append({"scripted_delay": True, **params})  # it did arrive
                await asyncio.sleep(scripted["delay"])
            if "Code" in scripted:
                return _answer(scripted["Code"], scripted.get("Message", "scripted"))
        fate = state.chaos.draw() if state.chaos and params.get("Action") != "QuerySendDetails" else "ok"
        if fate == "fail":
            return _answer("isp.SYSTEM_ERROR", "System error.")
        if fate == "throttle":  # the API gateway's flow control, before the SMS service sees it
            return JSONResponse({"Code": "Throttling.User", "Message": "Request was denied due to user flow control.",
                                 "RequestId": str(uuid.uuid4())}, status_code=400)
        if fate == "slow" and state.chaos:
            await asyncio.sleep(state.chaos.slow_delay())
        if params.get("AccessKeyId") != state.access_key_id:
            return JSONResponse({"Code": "InvalidAccessKeyId.NotFound",
                                 "Message": "Specified access key is not found."}, status_code=404)
        signature = params.pop("Signature", "")
        if sign_rpc(params, state.secret) != signature:
            return JSONResponse({"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched"},
                                status_code=400)
        action = params.get("Action")
        if action == "SendSms":
            if params.get("SignName") not in state.sign_names:
                return _answer("isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名")
            if params.get("TemplateCode") not in state.templates:
                return _answer("isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板")
            try:
                json.loads(params.get("TemplateParam", "{}"))
            except ValueError:
                return _answer("isv.INVALID_JSON_PARAM", "JSON参数不合法")
            if not MOBILE.match(params.get("PhoneNumbers", "")):
                return _answer("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
            state.accepted.append({**params, "_date": state.today()})
            if fate == "lost" and state.chaos:  # taken and billed; the answer comes after the caller gave up
                await asyncio.sleep(state.chaos.lost_seconds)
            return _answer("OK", "OK", BizId=f"{len(state.accepted)}^0")
        if action == "QuerySendDetails":
            if not params.get("PhoneNumber") or not re.fullmatch(r"\d{8}", params.get("SendDate", "")):
                return _answer("isv.INVALID_PARAMETERS", "参数异常")
            sent = [p for p in state.accepted if p.get("Action") == "SendSms" and "_date" in p
                    and p.get("PhoneNumbers") == params["PhoneNumber"] and p["_date"] == params["SendDate"]]
            dtos = [{"PhoneNum": p["PhoneNumbers"], "SendStatus": state.send_status,
                     "ErrCode": "DELIVERED" if state.send_status == 3 else "",
                     "TemplateCode": p.get("TemplateCode"), "Content": "【北京中路街道】…", "OutId": p.get("OutId"),
                     "SendDate": f"{p['_date'][:4]}-{p['_date'][4:6]}-{p['_date'][6:]} 10:00:00",
                     "ReceiveDate": ""} for p in sent]
            size = min(50, max(1, int(params.get("PageSize") or 10)))  # the real API pages by at most 50
            page = max(1, int(params.get("CurrentPage") or 1))
            return _answer("OK", "OK", TotalCount=len(dtos),
                           SmsSendDetailDTOs={"SmsSendDetailDTO": dtos[(page - 1) * size:page * size]})
        if action == "SingleCallByTts":
            if params.get("TtsCode") not in state.tts_codes:
                return _answer("isv.TTS_TEMPLATE_ILLEGAL", "模板不合法")
            callee = params.get("CalledNumber", "")
            window = state.calls.setdefault(callee, deque())
            while window and window[0] <= state.now - 60:
                window.popleft()
            if window:
                return _answer("isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1")
            window.append(state.now)
            state.accepted.append(params)
            return _answer("OK", "OK", CallId=f"{len(state.accepted)}^100")
        return _answer("InvalidAction.NotFound", f"unknown action {action}")

    async def control_accepted(request: Request) -> Response:
        """What the vendor took (and bills): one entry per accepted SMS or call."""
        return JSONResponse([{"Action": p.get("Action"), "OutId": p.get("OutId"),
                              "PhoneNumbers": p.get("PhoneNumbers") or p.get("CalledNumber")}
                             for p in state.accepted if "scripted_delay" not in p])

    async def control_faults(request: Request) -> Response:
        """How many requests met each fate (chaos mode)."""
        return JSONResponse(state.chaos.counts if state.chaos else {})

    return Starlette(routes=[Route("/", rpc, methods=["POST"]),
                             Route("/__fake__/accepted", control_accepted, methods=["GET"]),
                             Route("/__fake__/faults", control_faults, methods=["GET"])])
