"""JSON log lines carry the request id and the extra fields; the api hands every request an id."""

from __future__ import annotations

import json
import logging

from services.core.logs import JsonFormatter, RequestIdFilter, bound, request_id


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


def test_bound_sets_the_request_id_inside_only() -> None:
    def rid() -> object:
        record = logging.makeLogRecord({"msg": "x"})
        RequestIdFilter().filter(record)
        return record.request_id  # type: ignore[attr-defined]

    with bound("trace-1"):
        assert rid() == "trace-1"
        with bound(None):  # a message with no trace id: no request id, not the outer one
            assert rid() is None
        assert rid() == "trace-1"
    assert rid() is None


def test_uvicorn_coloured_copy_is_not_an_extra() -> None:
    record = logging.makeLogRecord({"msg": "Started", "color_message": "\x1b[36mStarted\x1b[0m"})
    assert "color_message" not in json.loads(JsonFormatter().format(record))
