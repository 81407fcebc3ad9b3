"""JSON log lines carry the request id and the extra fields; the api hands every request an id."""

from __future__ import annotations

import json
import logging

from services.core.logs import JsonFormatter, RequestIdFilter, request_id


def test_json_lines_carry_the_request_id_and_extras() -> None:
    record = logging.makeLogRecord({"name": "liandong.x", "levelname": "INFO", "msg": "fired %d",
                                    "args": (3,), "case_id": 42})
    token = request_id.set("abc123")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id.reset(token)
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "fired 3" and line["request_id"] == "abc123" and line["case_id"] == 42
    assert line["level"] == "INFO" and line["ts"].endswith("+00:00")
