"""Logs: plain text for people at a terminal, or one JSON object per line for a log pipeline
(``LIANDONG_LOG_FORMAT=json``), each line carrying the request id of the api request it belongs to.

The request id follows a case: the case keeps the id of the request that created it (``trace_id``),
its outbox rows carry it, and the escalator and notifier log their lines about the case under it
(``bound``)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

request_id: ContextVar[str | None] = ContextVar("liandong_request_id", default=None)
# Not extras: the record's own attributes, and uvicorn's ANSI-coloured copy of its message.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request_id", "color_message"}


@contextmanager
def bound(trace_id: str | None) -> Iterator[None]:
    """Lines logged inside carry ``trace_id`` as their request id (None: no id, as outside a request)."""
    token = request_id.set(trace_id)
    try:
        yield
    finally:
        request_id.reset(token)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {"ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
               "level": record.levelname, "logger": record.name, "msg": record.getMessage()}
        if getattr(record, "request_id", None):
            out["request_id"] = getattr(record, "request_id")  # noqa: B009
        out.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def configure(level: str, fmt: str = "text") -> None:
    """Logs at ``level``. httpx and httpcore stay at WARNING whatever the level: at INFO they log every
    request URL, and the WeCom robot key and the WeCom/DingTalk tokens travel in URLs."""
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
