"""Use cases of active cases (主动案件): report (with photos), self-handle, audit, upload, read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from services.core.active import rules
from services.core.active.models import ActiveCase
from services.core.active.repository import ActiveCaseRepository
from services.core.active.rules import AuditStatus
from services.core.categories.repository import CategoryRepository
from services.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.core.files import attachments
from services.core.files.attachments import Upload
from services.core.files.models import Attachment
from services.core.files.storage import FileStore
from services.core.org.roles import Role
from services.core.org.scope import Principal
from services.core.outbox.repository import OutboxRepository
from services.core.outbox.rows import district_call
from services.core.storable import require_storable

OWNER_KIND = "active_case"


@dataclass(frozen=True)
class ActiveCaseLimits:
    max_photo_bytes: int = 10 * 1024 * 1024
    max_photos: int = 9
    duplicate_window: timedelta = timedelta(hours=24)
    duplicate_radius_m: float = 50.0
    handling_time: timedelta = timedelta(hours=72)  # a valid case not self-handled: its deadline


@dataclass(frozen=True)
class NewActiveCase:
    grid_id: int
    category_code: str
    description: str
    address: str | None
    lat: Decimal | None
    lng: Decimal | None
    self_handled: bool


async def report(session: AsyncSession, principal: Principal, data: NewActiveCase, uploads: Sequence[Upload],
                 store: FileStore, *, now: datetime, limits: ActiveCaseLimits) -> ActiveCase:
    """A grid worker reports a case in their own grid; a self-handled one (自发自处) needs photos
    before and after and is handled at once. Photos are checked before anything is written."""
    repo = ActiveCaseRepository(session)
    grid = await repo.grid(data.grid_id)
    if grid is None or grid.grid_worker_id != principal.person_id:
        raise Forbidden("grid workers report cases in their own grid", code="not_your_grid")
    category = await CategoryRepository(session).by_code(data.category_code)
    if category is None or not category.active:
        raise InvalidInput("category_code", f"unknown category {data.category_code!r}")
    if not data.description.strip():
        raise InvalidInput("description", "describe the problem", code="field_required")
    require_storable({"description": data.description, "address": data.address})
    if (data.lat is None) != (data.lng is None):
        raise InvalidInput("lat" if data.lat is None else "lng", "give both lat and lng, or neither")
    photos = attachments.check(uploads, max_bytes=limits.max_photo_bytes, max_files=limits.max_photos)
    if data.self_handled:
        stages = {u.stage for u, _ in photos}
        for stage in ("before", "after"):
            if stage not in stages:
                raise InvalidInput(f"photos_{stage}", f"a self-handled case needs a photo {stage} handling",
                                   code="field_required")
    duplicate = await repo.nearby_duplicate(category.id, now - limits.duplicate_window, data.lat, data.lng,
                                            grid.id, data.address, limits.duplicate_radius_m)
    case = await repo.add(ActiveCase(
        community_id=grid.community_id, grid_id=grid.id, reporter_id=principal.person_id, category_id=category.id,
        description=data.description.strip(), address=data.address, lat=data.lat, lng=data.lng, reported_at=now,
        self_handled=data.self_handled, handled_at=now if data.self_handled else None,
        audit_status=AuditStatus.pending.value, possible_duplicate_of=duplicate))
    await attachments.store_checked(session, store, OWNER_KIND, case.id, photos, by=principal.person_id, now=now)
    return case


async def get_visible(session: AsyncSession, principal: Principal, case_id: int, *, for_update: bool = False
                      ) -> ActiveCase:
    case = await ActiveCaseRepository(session).get(case_id, for_update=for_update)
    if case is None or not rules.can_see(principal, case.community_id, case.reporter_id):
        raise NotFound(f"active case {case_id} not found", code="active_case_not_found")
    return case


async def audit(session: AsyncSession, principal: Principal, case_id: int, result: AuditStatus, note: str | None,
                *, now: datetime, limits: ActiveCaseLimits) -> ActiveCase:
    """审核: valid, invalid or false (虚假案件). A valid case is uploaded to the district (outbox)."""
    case = await get_visible(session, principal, case_id, for_update=True)
    if not rules.can_audit(principal, case.community_id):
        raise Forbidden("auditing is for the linked operators and the supervisors", code="role_not_allowed")
    if case.reporter_id == principal.person_id:
        raise Forbidden("nobody audits their own report", code="own_report")
    if result == AuditStatus.pending:
        raise InvalidInput("result", "an audit says valid, invalid or false")
    if case.audit_status != AuditStatus.pending.value:
        raise Conflict(f"active case {case_id} was audited already ({case.audit_status})", code="already_audited")
    if result in (AuditStatus.invalid, AuditStatus.false) and not (note or "").strip():
        raise InvalidInput("note", "say why the case is not valid", code="field_required")
    case.audit_status, case.audited_by, case.audited_at, case.audit_note = result.value, principal.person_id, now, note
    if result == AuditStatus.valid:
        if not case.self_handled:
            case.deadline_at = now + limits.handling_time
        await _queue_upload(session, case, now)
    await session.flush()
    return case


async def handle(session: AsyncSession, principal: Principal, case_id: int, *, now: datetime) -> ActiveCase:
    """A valid case that was not self-handled is handled (its deadline decides whether it is overdue)."""
    case = await get_visible(session, principal, case_id, for_update=True)
    allowed = principal.person_id == case.reporter_id or rules.can_audit(principal, case.community_id) or any(
        cid == case.community_id and role in rules.COMMUNITY_READERS for role, cid in principal.community_roles)
    if not allowed:
        raise Forbidden("marking a case handled is for its reporter, its community and its operators",
                        code="role_not_allowed")
    if case.audit_status != AuditStatus.valid.value or case.handled_at is not None:
        raise Conflict(f"active case {case_id} is {case.audit_status}"
                       f"{', handled already' if case.handled_at else ''}", code="transition_not_allowed")
    case.handled_at = now
    await session.flush()
    return case


async def _queue_upload(session: AsyncSession, case: ActiveCase, now: datetime) -> None:
    """上传: the district's copy of a valid case, through the outbox's district channel."""
    photos = await attachments.of(session, OWNER_KIND, [case.id])
    category = await CategoryRepository(session).get(case.category_id)
    event = {"event_id": f"street-active-{case.id}", "type": "active_case.reported", "street_case_id": case.id,
             "occurred_at": now.isoformat(), "data": {
                 "category_code": category.code if category else None, "description": case.description,
                 "address": case.address,
                 "location": {"lat": str(case.lat), "lng": str(case.lng)} if case.lat is not None else None,
                 "reported_at": case.reported_at.isoformat(), "self_handled": case.self_handled,
                 "photos": [{"stage": p.stage, "content_type": p.content_type, "sha256": p.sha256, "size": p.size}
                            for p in photos]}}
    await OutboxRepository(session).add([district_call(event, f"active_case.reported {case.id}", now, case_id=None,
                                                       community_id=case.community_id)])


async def photos_of(session: AsyncSession, principal: Principal, case_id: int) -> Sequence[Attachment]:
    await get_visible(session, principal, case_id)
    return await attachments.of(session, OWNER_KIND, [case_id])


async def search(session: AsyncSession, principal: Principal, filters: dict[str, object], *, limit: int,
                 offset: int) -> tuple[int, Sequence[ActiveCase]]:
    """Active cases in the asker's scope, newest first."""
    if principal.street_wide:
        communities: list[int] | None = None
    else:
        ids = {cid for role, cid in principal.community_roles if role in rules.COMMUNITY_READERS}
        if principal.is_operator:
            ids |= set(principal.linked_community_ids)
        communities = sorted(ids)
    reporter = principal.person_id if Role.grid_worker in {r for r, _ in principal.community_roles} else None
    return await ActiveCaseRepository(session).search(community_ids=communities, reporter_id=reporter,
                                                      filters=filters, limit=limit, offset=offset)
