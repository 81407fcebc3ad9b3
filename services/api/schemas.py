"""Request and response bodies of the REST API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from annotated_types import Interval
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from services.core.cases.rules import CaseAction, CaseStatus
from services.core.org.roles import Role
from services.core.storable import UNSTORABLE_TEXT, require_storable

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"\S")]
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32,
                                        pattern=r"^[A-Za-z0-9_.-]+$")]
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000, pattern=r"\S")]
PersonName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"\S")]
Mobile = Annotated[str, StringConstraints(pattern=r"^\+?[0-9]{5,19}$")]


def _storable_text(value: str) -> str:
    if UNSTORABLE_TEXT.search(value):
        raise ValueError("contains a character that cannot be stored (NUL, a lone surrogate)")
    return value


QueryText = Annotated[str, StringConstraints(max_length=200), AfterValidator(_storable_text)]  # a text filter
MAX_ID = 2**53 - 1  # the largest integer every JSON client holds exactly (and a bigint column stores)
Id = Annotated[int, Interval(ge=-MAX_ID, le=MAX_ID)]


class Orm(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class StorableIn(BaseModel):
    """A request body whose every text and number can be stored (checked after parsing; 422 names the field)."""

    @model_validator(mode="after")
    def _storable(self) -> StorableIn:
        require_storable(self.model_dump(mode="python"))
        return self


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class RoleGrantIn(BaseModel):
    role: Role
    community_id: Id | None = None


class RoleGrantOut(Orm):
    role: Role
    community_id: int | None


class MeOut(BaseModel):
    id: int
    username: str
    name: str
    roles: list[RoleGrantOut]
    linked_community_ids: list[int]
    street_wide: bool


class PersonIn(StorableIn):
    username: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=64,
                                               pattern=r"^[A-Za-z0-9_.-]+$")]
    name: PersonName
    password: Annotated[str, StringConstraints(min_length=8, max_length=200)]
    mobile: Mobile | None = None
    wecom_userid: Annotated[str, StringConstraints(max_length=64)] | None = None
    roles: list[RoleGrantIn] = Field(default_factory=list, max_length=50)


class PersonPatch(StorableIn):
    name: PersonName | None = None
    password: Annotated[str, StringConstraints(min_length=8, max_length=200)] | None = None
    mobile: Mobile | None = None
    wecom_userid: Annotated[str, StringConstraints(max_length=64)] | None = None
    active: bool | None = None


class PersonOut(Orm):
    id: int
    username: str
    name: str
    mobile: str | None
    wecom_userid: str | None
    active: bool
    roles: list[RoleGrantOut] = Field(default_factory=list)


class RolesIn(StorableIn):
    roles: list[RoleGrantIn] = Field(max_length=50)


class LinksIn(StorableIn):
    community_ids: list[Id] = Field(max_length=500)


class LinksOut(BaseModel):
    operator_id: int
    community_ids: list[int]


class CommunityIn(StorableIn):
    code: Code
    name: Name


class CommunityPatch(StorableIn):
    name: Name | None = None
    active: bool | None = None


class CommunityOut(Orm):
    id: int
    code: str
    name: str
    active: bool


class GridIn(StorableIn):
    community_id: Id
    code: Code
    name: Name
    grid_worker_id: Id | None = None


class GridPatch(StorableIn):
    name: Name | None = None
    grid_worker_id: Id | None = None


class StreetIn(StorableIn):
    code: Code
    name: Name
    district_name: Name = "金凤区"


class StreetOut(Orm):
    id: int
    code: str
    name: str
    district_name: str


class GridOut(Orm):
    id: int
    community_id: int
    code: str
    name: str
    grid_worker_id: int | None


class CategoryIn(StorableIn):
    code: Code
    name: Name
    kind: Literal["component", "event"]
    parent_code: Code | None = None


class CategoryPatch(StorableIn):
    name: Name | None = None
    active: bool | None = None


class CategoryOut(Orm):
    id: int
    code: str
    name: str
    kind: str
    parent_id: int | None
    level: int
    active: bool


class MoveIn(StorableIn):
    """Body of a case move; which fields are required depends on the move (see the docs)."""

    model_config = ConfigDict(extra="forbid")
    community_id: Id | None = None
    responsible_person_id: Id | None = None
    requested_deadline_at: AwareDatetime | None = None
    deadline_at: AwareDatetime | None = None
    note: Note | None = None
    reply_text: Note | None = None


class NoteIn(StorableIn):
    note: Note


class CaseOut(Orm):
    id: int
    district_case_id: str
    source: str
    title: str
    description: str | None
    category_code: str | None
    category_id: int | None
    address: str | None
    lat: Decimal | None
    lng: Decimal | None
    attachments: list[dict[str, Any]]
    complexity: str
    district_community_code: str | None
    community_id: int | None
    responsible_person_id: int | None
    status: CaseStatus
    deadline_at: datetime
    original_deadline_at: datetime
    received_at: datetime
    dispatched_at: datetime | None
    accepted_at: datetime | None
    started_at: datetime | None
    extension_requested_at: datetime | None
    extension_requested_deadline_at: datetime | None
    extension_reason: str | None
    extension_granted_at: datetime | None
    extension_denied_at: datetime | None
    returned_at: datetime | None
    return_reason: str | None
    handled_at: datetime | None
    replied_at: datetime | None
    reply_text: str | None
    closed_at: datetime | None
    reopened_at: datetime | None
    recalled_at: datetime | None
    dispatch_count: int
    extension_count: int
    reopen_count: int
    reminder_count: int
    acceptance_timed_out: bool
    progress_note: str | None
    updated_at: datetime


class CaseDetailOut(CaseOut):
    is_overdue: bool
    allowed_actions: list[CaseAction]


class CaseEventOut(Orm):
    id: int
    action: str
    from_status: str | None
    to_status: str | None
    actor_kind: str
    actor_person_id: int | None
    note: str | None
    data: dict[str, Any]
    occurred_at: datetime


class LedgerItemOut(BaseModel):
    """One line of 被动案件信息台帐 (SPEC §2 columns, plus what identifies the case)."""

    case_id: int
    district_case_id: str
    title: str
    source: str
    status: CaseStatus
    community_id: int | None
    community_name: str | None
    responsible_person_id: int | None
    responsible_person_name: str | None
    received_at: datetime
    accepted_at: datetime | None
    deadline_at: datetime
    category_code: str | None
    category_name: str | None
    complexity: str
    extension_requested: bool
    reminder_count: int
    progress_note: str | None
    is_overdue: bool
    is_closed: bool


class LedgerPageOut(BaseModel):
    total: int
    total_is_exact: bool = True  # False: "total" is the cap (10,000) and there are more
    limit: int
    offset: int
    items: list[LedgerItemOut]


class DistrictResultOut(BaseModel):
    case_id: int
    status: CaseStatus
    duplicate: bool


class ReminderIn(StorableIn):
    """A manual phone reminder (提醒登记): who was called and what came of it."""

    model_config = ConfigDict(extra="forbid")
    called_person_id: Id | None = None
    called_name: Name | None = None
    outcome: Literal["answered", "no_answer", "busy", "refused", "wrong_number", "other"]
    note: Note | None = None
    task_id: Id | None = None


class ReminderOut(Orm):
    id: int
    case_id: int
    kind: str
    node_key: str | None
    label: str
    channels: list[str]
    recipients: list[dict[str, Any]]
    outcome: str | None
    note: str | None
    logged_by: int | None
    occurred_at: datetime


class TimerOut(Orm):
    id: int
    generation: int
    node_key: str
    due_at: datetime
    state: str
    fired_at: datetime | None
    skip_reason: str | None


class TaskOut(Orm):
    id: int
    case_id: int | None
    reminder_id: int | None
    outbox_id: int | None
    label: str
    call_person_ids: list[int]
    due_at: datetime


class PolicyNodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_.]{1,40}$")]
    label: Name
    channels: list[Literal["wecom_robot", "wecom_app", "dingtalk", "feishu", "sms", "voice", "operator_task",
                           "log"]] = Field(min_length=1, max_length=8)
    recipients: list[str] = Field(min_length=1, max_length=12)
    offset_seconds: int | None = Field(default=None, ge=1, le=30 * 86400)
    fraction: tuple[int, int] | None = None


class QuietHoursIn(BaseModel):
    start: Annotated[str, StringConstraints(pattern=r"^\d{2}:\d{2}$")]
    end: Annotated[str, StringConstraints(pattern=r"^\d{2}:\d{2}$")]


class PolicyIn(StorableIn):
    model_config = ConfigDict(extra="forbid")
    nodes: list[PolicyNodeIn] = Field(min_length=1, max_length=20)
    quiet_hours: QuietHoursIn | None = None


class PolicyOut(Orm):
    id: int
    kind: str
    version: int
    active: bool
    nodes: list[dict[str, Any]]
    quiet_hours: dict[str, str] | None
    created_at: datetime
    created_by: int | None


class AttemptOut(Orm):
    attempt: int
    outcome: str
    code: str | None
    provider_ref: str | None
    request_summary: str
    latency_ms: int
    started_at: datetime


class NotificationOut(Orm):
    id: int
    channel: str
    recipient: dict[str, Any]
    message: dict[str, Any]
    state: str
    attempts: int
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None
    reminder_id: int | None
    tries: list[AttemptOut] = Field(default_factory=list)
