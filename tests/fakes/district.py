"""A fake district platform receiving the street's calls (签收, 回复): checks the signature and the
±300 s window, drops a repeated event_id (answering code 0 again), refuses an unknown case, and
plays scripted faults first (``{"status": 503}``, ``{"status": 429, "retry_after": 7}``, ``{"delay": 2}``);
in chaos mode it also fails, throttles, slows down and loses answers at random (``tests.fakes.chaos``)."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from services.core.cases.district_contract import sign
from tests.fakes.chaos import Chaos


@dataclass
class FakeDistrictState:
    secret: str = "district-secret-for-tests-0123456789"
    now: float | None = None  # the fake's clock (unix seconds); None: real time
    events: dict[str, dict[str, Any]] = field(default_factory=dict)  # by event_id, first copy
    received: int = 0
    unknown_cases: set[str] = field(default_factory=set)
    script: deque[dict[str, Any]] = field(default_factory=deque)
    chaos: Chaos | None = None  # random faults for the chaos suite


def build_app(state: FakeDistrictState) -> Starlette:
    async def street_events(request: Request) -> Response:
        import time

        raw = await request.body()
        state.received += 1
        if state.script:
            scripted = state.script.popleft()
            if "delay" in scripted:
                await asyncio.sleep(scripted["delay"])
            if scripted.get("status") == 429:
                return JSONResponse({"code": "too_many_requests"}, status_code=429,
                                    headers={"Retry-After": str(scripted.get("retry_after", 30))})
            if "status" in scripted:
                return PlainTextResponse("<html>upstream error</html>", status_code=scripted["status"])
        fate = state.chaos.draw() if state.chaos else "ok"
        if fate == "fail":
            return PlainTextResponse("<html>502 Bad Gateway</html>", status_code=502)
        if fate == "throttle":
            return JSONResponse({"code": "too_many_requests"}, status_code=429, headers={"Retry-After": "2"})
        if fate == "slow" and state.chaos:
            await asyncio.sleep(state.chaos.slow_delay())
        ts = request.headers.get("X-Liandong-Timestamp", "")
        now = state.now if state.now is not None else time.time()
        if not ts.isdigit() or abs(int(ts) - now) > 300:
            return JSONResponse({"code": "timestamp_out_of_window", "message": "timestamp"}, status_code=401)
        if request.headers.get("X-Liandong-Signature") != sign(state.secret, ts, raw):
            return JSONResponse({"code": "signature_invalid", "message": "signature"}, status_code=401)
        try:
            event = json.loads(raw)
            event_id = str(event["event_id"])
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"code": "invalid_body", "message": "event_id required"}, status_code=422)
        if event_id in state.events:
            return JSONResponse({"code": 0, "message": "duplicate", "receipt": f"r-{event_id}"})
        if event.get("district_case_id") in state.unknown_cases:
            return JSONResponse({"code": "unknown_case", "message": "no such case"})
        state.events[event_id] = event
        if fate == "lost" and state.chaos:  # taken; the answer comes after the caller gave up
            await asyncio.sleep(state.chaos.lost_seconds)
        return JSONResponse({"code": 0, "message": "ok", "receipt": f"r-{event_id}"})

    async def control_events(request: Request) -> Response:
        """What the district took: the first copy of each event, with how many requests arrived and their fates."""
        return JSONResponse({"events": list(state.events.values()), "received": state.received,
                             "faults": state.chaos.counts if state.chaos else {}})

    return Starlette(routes=[Route("/api/v1/street/events", street_events, methods=["POST"]),
                             Route("/__fake__/events", control_events, methods=["GET"])])
