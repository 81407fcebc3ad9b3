"""The outbox rows queued outside the escalator's firing, built in one place: a message to a community's
WeCom group, and a call to the district platform.

Each row carries a trace id for the notifier's log lines: its case's, when the caller passes one,
else the id of the request (api) that queues it (None in the escalator's calendar duties)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from services.core.logs import request_id


def _row(idem_key: str, channel: str, recipient: dict[str, Any], message: dict[str, Any], now: datetime,
         case_id: int | None, trace_id: str | None) -> dict[str, Any]:
    return {"idem_key": idem_key, "channel": channel, "recipient": recipient, "message": message,
            "case_id": case_id, "reminder_id": None, "state": "pending", "attempts": 0, "next_attempt_at": now,
            "created_at": now, "trace_id": trace_id or request_id.get()}


def group_message(idem_key: str, community_id: int, text: str, now: datetime,
                  mentioned: Sequence[str] = ()) -> dict[str, Any]:
    """A message to the community's group (WeCom robot), @-mentioning ``mentioned`` mobiles."""
    return _row(idem_key, "wecom_robot", {"community_id": community_id, "mentioned_mobiles": list(mentioned)},
                {"text": text}, now, None, None)


def district_call(event: dict[str, Any], text: str, now: datetime, *, case_id: int | None,
                  community_id: int | None, trace_id: str | None = None) -> dict[str, Any]:
    """A signed call to the district platform; ``community_id`` says whose operators to alert if it fails;
    ``trace_id``: the case's (a passive case's call), else the current request's is taken."""
    recipient: dict[str, Any] = {"platform": "district"}
    if community_id is not None:
        recipient["community_id"] = community_id
    return _row(f"district:{event['event_id']}", "district", recipient, {"text": text, "event": event}, now,
                case_id, trace_id)
