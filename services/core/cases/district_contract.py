"""The district webhook's wire contract: signature check and body validation (fixed by the integrator)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
)

from services.core.errors import AppError, NotAuthenticated
from services.core.storable import unstorable_paths

SOURCES = ("hotline", "leader", "online", "media", "department", "petition", "video")
SOURCE_LABELS = {"hotline": "热线投诉", "leader": "领导交办", "online": "网上反映", "media": "媒体曝光",
                 "department": "部门转办", "petition": "信访督办", "video": "视频监控"}
COMPLEXITIES = ("simple", "normal", "complex", "difficult")
COMPLEXITY_LABELS = {"simple": "简单", "normal": "一般", "complex": "复杂", "difficult": "疑难"}
EVENT_TYPES = ("case.created", "case.updated", "case.urged", "case.recalled")

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, pattern=r"\S")]
_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")
# Postgres text cannot hold NUL, and a lone surrogate cannot be encoded: refuse them up front (422).
_MAYBE_UNSTORABLE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


class Location(BaseModel):
    # Documented as numbers: pydantic would also document "any string", which it then refuses.
    lat: Annotated[Decimal, Field(ge=-90, le=90), WithJsonSchema({"type": "number", "minimum": -90, "maximum": 90})]
    lng: Annotated[Decimal, Field(ge=-180, le=180),
                   WithJsonSchema({"type": "number", "minimum": -180, "maximum": 180})]


class Attachment(BaseModel):
    url: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    name: Annotated[str, StringConstraints(max_length=200)] | None = None


class _CaseFields(BaseModel):
    model_config = ConfigDict(extra="ignore")
    description: Annotated[str, StringConstraints(max_length=10000)] | None = None
    category_code: Annotated[str, StringConstraints(max_length=32)] | None = None
    address: Annotated[str, StringConstraints(max_length=300)] | None = None
    location: Location | None = None
    complexity: Literal["simple", "normal", "complex", "difficult"] | None = None
    community_code: Annotated[str, StringConstraints(max_length=32)] | None = None
    attachments: list[Attachment] | None = Field(default=None, max_length=50)


class CaseCreated(_CaseFields):
    district_case_id: Annotated[Text, StringConstraints(max_length=64)]
    source: Literal["hotline", "leader", "online", "media", "department", "petition", "video"]
    title: Annotated[Text, StringConstraints(max_length=200)]
    deadline_at: AwareDatetime


class CaseChanged(_CaseFields):
    """``case.updated``: the district id plus whatever changed."""

    district_case_id: Annotated[Text, StringConstraints(max_length=64)]
    source: Literal["hotline", "leader", "online", "media", "department", "petition", "video"] | None = None
    title: Annotated[Text, StringConstraints(max_length=200)] | None = None
    deadline_at: AwareDatetime | None = None


class CaseRef(BaseModel):
    model_config = ConfigDict(extra="ignore")
    district_case_id: Annotated[Text, StringConstraints(max_length=64)]


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="ignore")
    event_id: Annotated[Text, StringConstraints(max_length=100)]
    type: Literal["case.created", "case.updated", "case.urged", "case.recalled"]
    occurred_at: AwareDatetime
    case: dict[str, Any]
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None  # 催办/撤回 reason


class _CreatedEnvelope(BaseModel):
    """``case.created``, the bulk of the traffic, validated in one pass."""

    model_config = ConfigDict(extra="ignore")
    event_id: Annotated[Text, StringConstraints(max_length=100)]
    type: Literal["case.created"]
    occurred_at: AwareDatetime
    case: CaseCreated
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None


class _ChangedEnvelope(BaseModel):
    event_id: Annotated[Text, StringConstraints(max_length=100)]
    type: Literal["case.updated"]
    occurred_at: AwareDatetime
    case: CaseChanged
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None


class _RefEnvelope(BaseModel):
    event_id: Annotated[Text, StringConstraints(max_length=100)]
    type: Literal["case.urged", "case.recalled"]
    occurred_at: AwareDatetime
    case: CaseRef
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None


def _inline(schema: Any, defs: dict[str, Any]) -> Any:
    if isinstance(schema, dict):
        if "$ref" in schema:
            return _inline(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
        return {k: _inline(v, defs) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inline(v, defs) for v in schema]
    return schema


def event_json_schema() -> dict[str, Any]:
    """The webhook body as JSON Schema, self-contained (for the OpenAPI document; validation is
    ``parse_event``): one envelope per event type, each with its own ``case``."""
    union = Annotated[_CreatedEnvelope | _ChangedEnvelope | _RefEnvelope, Field(discriminator="type")]
    schema = TypeAdapter(union).json_schema()
    inlined: dict[str, Any] = _inline(schema, schema.get("$defs", {}))
    inlined.pop("discriminator", None)  # its mapping points into $defs, which are inlined away
    return {"title": "DistrictEvent", **inlined}


@dataclass(frozen=True)
class DistrictEvent:
    event_id: str
    type: str
    occurred_at: datetime
    note: str | None
    ref: CaseRef
    created: CaseCreated | None = None
    changed: CaseChanged | None = None


_envelope = TypeAdapter(_Envelope)
_created_envelope = TypeAdapter(_CreatedEnvelope)
_CASE_MODEL: dict[str, type[BaseModel]] = {
    "case.created": CaseCreated, "case.updated": CaseChanged, "case.urged": CaseRef, "case.recalled": CaseRef,
}


class InvalidEvent(AppError):
    status_code = 422
    code = "validation_error"


def _fields(exc: ValidationError, prefix: tuple[str, ...] = ()) -> list[dict[str, str]]:
    out = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in (*prefix, *err["loc"])) or "body"
        out.append({"field": loc, "message": err["msg"]})
    return out


def _invalid(exc: ValidationError, prefix: tuple[str, ...]) -> InvalidEvent:
    fields = _fields(exc, prefix)
    return InvalidEvent("invalid event: " + ", ".join(f["field"] for f in fields), details={"fields": fields})


def parse_event(raw: bytes) -> DistrictEvent:
    """Validate a raw body: the parsed event, or ``InvalidEvent`` naming the fields."""
    if not _MAYBE_UNSTORABLE.search(raw):
        try:  # the common case in one pass; anything else (and every error) takes the path below
            created = _created_envelope.validate_json(raw)
        except ValidationError:
            pass
        else:
            return DistrictEvent(created.event_id, created.type, created.occurred_at, created.note,
                                 CaseRef.model_construct(district_case_id=created.case.district_case_id),
                                 created=created.case)
    try:
        env = _envelope.validate_json(raw)
    except ValidationError as exc:
        raise _invalid(exc, ()) from exc
    try:
        case = _CASE_MODEL[env.type].model_validate(env.case)
    except ValidationError as exc:
        raise _invalid(exc, ("case",)) from exc
    if _MAYBE_UNSTORABLE.search(raw):  # only then walk the values (JSON escapes are the only way in)
        # The whole body, unknown fields too: it is stored as it came (jsonb refuses NUL).
        bad = unstorable_paths(json.loads(raw), item=".{}")
        if bad:
            fields = [{"field": f, "message": "contains a NUL or an unpaired surrogate character"} for f in bad]
            raise InvalidEvent("invalid event: " + ", ".join(bad), details={"fields": fields})
    ref = CaseRef.model_construct(district_case_id=case.district_case_id)  # type: ignore[attr-defined]
    return DistrictEvent(env.event_id, env.type, env.occurred_at, env.note, ref,
                         created=case if isinstance(case, CaseCreated) else None,
                         changed=case if isinstance(case, CaseChanged) else None)


def sign(secret: str, timestamp: str, raw: bytes) -> str:
    """Lowercase hex HMAC-SHA256 of ``"{timestamp}.{raw body}"``."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + raw, hashlib.sha256).hexdigest()


def verify_signature(secret: str, timestamp: str | None, signature: str | None, raw: bytes,
                     *, now: datetime, window_seconds: int) -> None:
    """401 unless the signature matches and the timestamp is within the replay window."""
    if not timestamp or not signature:
        raise NotAuthenticated("missing X-Liandong-Timestamp or X-Liandong-Signature",
                               code="signature_missing")
    if not _UNIX_SECONDS.fullmatch(timestamp):
        raise NotAuthenticated("X-Liandong-Timestamp must be unix seconds", code="timestamp_invalid")
    ts = int(timestamp)
    if abs(now.timestamp() - ts) > window_seconds:
        raise NotAuthenticated(f"X-Liandong-Timestamp is more than {window_seconds} s away from now",
                               code="timestamp_out_of_window")
    given = signature.strip().encode("latin-1", errors="replace")
    if not hmac.compare_digest(sign(secret, timestamp, raw).encode(), given):
        raise NotAuthenticated("X-Liandong-Signature does not match", code="signature_invalid")
