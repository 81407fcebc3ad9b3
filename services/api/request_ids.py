"""What the api observes of every request, timed once: a request id (the caller's ``X-Request-ID``
when it is a sane token, else a new one) in every log line, in the response header and in one access
line; and the latency histogram by route template (Prometheus)."""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.core.logs import request_id
from services.core.ops import REQUEST_SECONDS

log = logging.getLogger("liandong.access")
SANE = re.compile(rb"^[A-Za-z0-9._-]{1,64}$")


class RequestMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware overhead)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"")
        rid = given.decode() if SANE.match(given) else uuid.uuid4().hex[:16]
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def with_header(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, with_header)
        finally:
            seconds = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", "unmatched")
            REQUEST_SECONDS.labels(scope["method"], route, str(status)).observe(seconds)
            if scope["path"] not in ("/healthz", "/readyz", "/metrics"):
                log.info("%s %s %s", scope["method"], scope["path"], status,
                         extra={"status": status, "request_id": rid, "ms": round(seconds * 1000, 1)})
            request_id.reset(token)
