"""A fake WeCom group-robot server that answers like the real one (tests only; 127.0.0.1).

Every answer is HTTP 200 with an errcode: 93000 for an unknown key, 40008 for a bad msgtype,
40058 for text over 2048 bytes, 45009 for the 21st message of one key within a sliding 60 s, else
0. Faults are scripted through the control API under ``/__fake__`` (a queue of one-shot answers:
``{"errcode": -1}``, ``{"status": 502}``, ``{"delay": 5}``). The clock is the fake's own, moved by
``/__fake__/clock`` or directly by the test.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

HINT = ", hint: [fake], from ip: 127.0.0.1, more info at https://open.work.weixin.qq.com/devtool/query?e="


@dataclass
class FakeWecomState:
    keys: set[str] = field(default_factory=lambda: {"robot-key-1", "robot-key-2"})
    now: float = 0.0  # the fake clock, in seconds
    sent: list[dict[str, Any]] = field(default_factory=list)  # accepted messages
    requests: list[dict[str, Any]] = field(default_factory=list)  # everything received
    windows: dict[str, deque[float]] = field(default_factory=dict)
    script: deque[dict[str, Any]] = field(default_factory=deque)

    def reset(self) -> None:
        self.sent.clear()
        self.requests.clear()
        self.windows.clear()
        self.script.clear()


def _err(code: int, msg: str) -> JSONResponse:
    return JSONResponse({"errcode": code, "errmsg": f"{msg}{HINT}{code}"})


def build_app(state: FakeWecomState) -> Starlette:
    async def send(request: Request) -> Response:
        key = request.query_params.get("key", "")
        body = await request.json()
        state.requests.append({"key": key, "body": body, "at": state.now})
        if state.script:
            scripted = state.script.popleft()
            if "delay" in scripted:
                await asyncio.sleep(scripted["delay"])
            if "status" in scripted:
                return PlainTextResponse("<html>bad gateway</html>", status_code=scripted["status"])
            if "errcode" in scripted:
                return _err(scripted["errcode"], scripted.get("errmsg", "scripted"))
        if key not in state.keys:
            return _err(93000, "invalid webhook url")
        if body.get("msgtype") != "text":
            return _err(40008, "invalid message type")
        content = body.get("text", {}).get("content", "")
        if len(content.encode()) > 2048:
            return _err(40058, "text.content exceed max length 2048. invalid Request Parameter")
        window = state.windows.setdefault(key, deque())
        while window and window[0] <= state.now - 60:
            window.popleft()
        if len(window) >= 20:
            return _err(45009, "api freq out of limit")
        window.append(state.now)
        state.sent.append({"key": key, "content": content,
                           "mentioned_mobile_list": body["text"].get("mentioned_mobile_list", []), "at": state.now})
        return JSONResponse({"errcode": 0, "errmsg": "ok"})

    async def control_reset(request: Request) -> Response:
        state.reset()
        return JSONResponse({"ok": True})

    async def control_clock(request: Request) -> Response:
        state.now += float((await request.json())["advance"])
        return JSONResponse({"now": state.now})

    async def control_script(request: Request) -> Response:
        state.script.extend((await request.json())["responses"])
        return JSONResponse({"queued": len(state.script)})

    async def control_requests(request: Request) -> Response:
        return JSONResponse(state.requests)

    return Starlette(routes=[
        Route("/cgi-bin/webhook/send", send, methods=["POST"]),
        Route("/__fake__/reset", control_reset, methods=["POST"]),
        Route("/__fake__/clock", control_clock, methods=["POST"]),
        Route("/__fake__/script", control_script, methods=["POST"]),
        Route("/__fake__/requests", control_requests, methods=["GET"]),
    ])
