"""Fake DingTalk and Feishu custom robots: signature and timestamp checked (±1 h of the fake clock),
keyword, sliding windows (DingTalk 20/min then 130101 for 600 s; Feishu 5/s and 100/min → 11232),
body limits; every answer HTTP 200 with the code in the body, as the real ones do."""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.notifier.channels.signed_robots import dingtalk_sign, feishu_sign


@dataclass
class FakeRobotsState:
    token: str = "robot-token-1"
    secret: str = "SECfake-secret"
    keyword: str = "大联动"
    now: float = 1_780_000_000.0  # the fake wall clock, seconds
    legacy_feishu: bool = False
    dingtalk: list[dict[str, Any]] = field(default_factory=list)
    feishu: list[dict[str, Any]] = field(default_factory=list)
    dingtalk_window: deque[float] = field(default_factory=deque)
    dingtalk_blocked_until: float = 0.0
    feishu_window: deque[float] = field(default_factory=deque)


def build_app(state: FakeRobotsState) -> Starlette:
    async def dingtalk(request: Request) -> Response:
        q = request.query_params
        if q.get("access_token") != state.token:
            return JSONResponse({"errcode": 300001, "errmsg": "token is not exist"})
        try:
            ts = int(q.get("timestamp", ""))
        except ValueError:
            return JSONResponse({"errcode": 310000, "errmsg": "invalid timestamp"})
        if abs(ts / 1000 - state.now) > 3600:
            return JSONResponse({"errcode": 310000, "errmsg": "invalid timestamp"})
        if q.get("sign") != dingtalk_sign(ts, state.secret):
            return JSONResponse({"errcode": 310000, "errmsg": "sign not match"})
        body = await request.json()
        content = body.get("text", {}).get("content", "")
        if state.keyword not in content:
            return JSONResponse({"errcode": 310000, "errmsg": "keywords not in content"})
        if state.now < state.dingtalk_blocked_until:
            return JSONResponse({"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"})
        while state.dingtalk_window and state.dingtalk_window[0] <= state.now - 60:
            state.dingtalk_window.popleft()
        if len(state.dingtalk_window) >= 20:
            state.dingtalk_blocked_until = state.now + 600
            return JSONResponse({"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"})
        state.dingtalk_window.append(state.now)
        state.dingtalk.append({"content": content, "at": body.get("at", {})})
        return JSONResponse({"errcode": 0, "errmsg": "ok"})

    async def feishu(request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw)
        except ValueError:
            return JSONResponse({"code": 9499, "msg": "Bad Request", "data": {}})
        if len(raw) > 20 * 1024:
            return JSONResponse({"code": 9499, "msg": "Bad Request", "data": {}})
        if request.path_params["token"] != state.token:
            return JSONResponse({"code": 19001, "msg": "param invalid: incoming webhook access token invalid",
                                 "data": {}})
        ts = int(body.get("timestamp", "0") or 0)
        if abs(ts - state.now) > 3600 or body.get("sign") != feishu_sign(ts, state.secret):
            return JSONResponse({"code": 19021, "msg": "sign match fail or timestamp is not within one hour "
                                                        "from current time", "data": {}})
        text = body.get("content", {}).get("text", "")
        if state.keyword not in text:
            return JSONResponse({"code": 19024, "msg": "Key Words Not Found", "data": {}})
        window = state.feishu_window
        while window and window[0] <= state.now - 60:
            window.popleft()
        if len(window) >= 100 or sum(1 for t in window if t > state.now - 1) >= 5:
            return JSONResponse({"code": 11232, "msg": "frequency limited psm[lark.oapi.app_platform_runtime]"
                                                        "appID[1]", "data": {}})
        window.append(state.now)
        state.feishu.append({"text": text})
        if state.legacy_feishu:
            return JSONResponse({"Extra": None, "StatusCode": 0, "StatusMessage": "success"})
        return JSONResponse({"code": 0, "msg": "success", "data": {}})

    return Starlette(routes=[Route("/robot/send", dingtalk, methods=["POST"]),
                             Route("/open-apis/bot/v2/hook/{token}", feishu, methods=["POST"])])
