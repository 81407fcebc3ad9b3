"""A fake WeCom app-message server (gettoken + message/send) that answers like the real one.

gettoken: wrong corpid → 40013, wrong secret → 40001, else a token valid 7200 s on the fake clock
(the same token again while it lives). message/send: no token → 41001, unknown or revoked token →
40014, expired → 42001, all recipients unknown → 81013, some unknown → 0 with ``invaliduser``,
beyond 30 a minute per (agent, user) → 0 but silently dropped (as WeCom does), an identical body
within ``duplicate_check_interval`` → 0 but deduplicated. Scripted one-shot answers come first.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.wecom import HINT


@dataclass
class FakeWecomAppState:
    corp_id: str = "ww-fake-corp"
    secret: str = "fake-app-secret"
    users: set[str] = field(default_factory=lambda: {"zhangsan", "lisi"})
    now: float = 0.0
    token_calls: int = 0
    tokens: dict[str, float] = field(default_factory=dict)  # token → expires at (fake clock)
    delivered: list[dict[str, Any]] = field(default_factory=list)
    dropped: list[dict[str, Any]] = field(default_factory=list)
    deduped: list[dict[str, Any]] = field(default_factory=list)
    seen: dict[str, float] = field(default_factory=dict)  # body JSON → when first sent
    per_user: dict[str, deque[float]] = field(default_factory=dict)
    script: deque[dict[str, Any]] = field(default_factory=deque)

    def revoke_tokens(self) -> None:
        self.tokens.clear()


def _err(code: int, msg: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"errcode": code, "errmsg": f"{msg}{HINT}{code}", **extra})


def build_app(state: FakeWecomAppState) -> Starlette:
    async def gettoken(request: Request) -> Response:
        state.token_calls += 1
        if request.query_params.get("corpid") != state.corp_id:
            return _err(40013, "invalid corpid")
        if request.query_params.get("corpsecret") != state.secret:
            return _err(40001, "invalid credential")
        live = [t for t, exp in state.tokens.items() if exp > state.now]
        token = live[0] if live else f"T{state.token_calls}"
        state.tokens.setdefault(token, state.now + 7200)
        return JSONResponse({"errcode": 0, "errmsg": "ok", "access_token": token,
                             "expires_in": int(state.tokens[token] - state.now)})

    async def send(request: Request) -> Response:
        if state.script:
            scripted = state.script.popleft()
            if "delay" in scripted:
                await asyncio.sleep(scripted["delay"])
            if "errcode" in scripted:
                return _err(scripted["errcode"], scripted.get("errmsg", "scripted"))
        token = request.query_params.get("access_token")
        if not token:
            return _err(41001, "access_token missing")
        if token not in state.tokens:
            return _err(40014, "invalid access_token")
        if state.tokens[token] <= state.now:
            return _err(42001, "access_token expired")
        raw = await request.body()
        body = json.loads(raw)
        users = [u for u in str(body.get("touser", "")).split("|") if u]
        unknown = [u for u in users if u not in state.users]
        if users and len(unknown) == len(users):
            return _err(81013, "user & party & tag all invalid", invaliduser="|".join(u.lower() for u in unknown))
        interval = int(body.get("duplicate_check_interval", 1800))
        key = raw.decode()
        if body.get("enable_duplicate_check") and key in state.seen and state.now - state.seen[key] < interval:
            state.deduped.append(body)
        else:
            state.seen[key] = state.now
            for user in users:
                if user in unknown:
                    continue
                window = state.per_user.setdefault(user, deque())
                while window and window[0] <= state.now - 60:
                    window.popleft()
                entry = {"touser": user, "content": body.get("text", {}).get("content", ""), "at": state.now}
                if len(window) >= 30:
                    state.dropped.append(entry)  # WeCom says ok and drops it
                else:
                    window.append(state.now)
                    state.delivered.append(entry)
        return JSONResponse({"errcode": 0, "errmsg": "ok", "invaliduser": "|".join(unknown), "invalidparty": "",
                             "invalidtag": "", "unlicenseduser": "", "msgid": f"msg{len(state.delivered)}"})

    return Starlette(routes=[Route("/cgi-bin/gettoken", gettoken, methods=["GET"]),
                             Route("/cgi-bin/message/send", send, methods=["POST"])])
