"""Storing and reading uploaded files of any record (active cases, registers): checked, then stored."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.errors import InvalidInput, ServiceUnavailable
from services.core.files.models import Attachment
from services.core.files.s3 import S3Error
from services.core.files.sniff import PHOTO_TYPES, sniff
from services.core.files.storage import FileStore

DOCUMENT_TYPES = PHOTO_TYPES | {"application/pdf"}


@dataclass(frozen=True)
class Upload:
    """A file as the client sent it: the name is only shown, the type is sniffed."""

    field: str  # the form field, for error messages
    stage: str  # before | after | document
    name: str | None
    data: bytes


def check(uploads: Sequence[Upload], *, max_bytes: int, max_files: int, allow_documents: bool = False
          ) -> list[tuple[Upload, str]]:
    """Each upload with its sniffed type; 422 naming the field for too many, too large or the wrong kind."""
    if len(uploads) > max_files:
        raise InvalidInput(uploads[0].field, f"at most {max_files} files", code="too_many_files")
    accepted = DOCUMENT_TYPES if allow_documents else PHOTO_TYPES
    checked = []
    for u in uploads:
        if len(u.data) > max_bytes:
            raise InvalidInput(u.field, f"{u.name or 'a file'} is larger than {max_bytes} bytes", code="file_too_large")
        kind = sniff(u.data)
        if kind not in accepted:
            what = "a JPEG, PNG, WebP or HEIC photo" + (" or a PDF" if allow_documents else "")
            raise InvalidInput(u.field, f"{u.name or 'a file'} is not {what}", code="unsupported_file_type")
        checked.append((u, kind))
    return checked


_NOT_SHOWN = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")


def shown_name(name: str | None) -> str | None:
    """The name a client gave a file, fit to show (never used as a path: files are kept under their
    hash): control characters and lone surrogates dropped, at most 200 characters."""
    cleaned = _NOT_SHOWN.sub("", name or "").strip()[:200]
    return cleaned or None


async def store_checked(session: AsyncSession, store: FileStore, owner_kind: str, owner_id: int,
                        checked: Sequence[tuple[Upload, str]], *, by: int, now: datetime) -> list[Attachment]:
    """Bytes into the store, rows into ``attachment``; a store that cannot be reached is a 503."""
    rows = []
    for u, kind in checked:
        try:
            key = await store.put(u.data)
        except (S3Error, OSError, httpx.HTTPError) as exc:  # the request rolls back; the client retries
            raise ServiceUnavailable("the file store is unavailable; try again",
                                     code="file_store_unavailable") from exc
        rows.append(Attachment(owner_kind=owner_kind, owner_id=owner_id, stage=u.stage, content_type=kind,
                               size=len(u.data), sha256=key, storage_key=key,
                               original_name=shown_name(u.name), uploaded_by=by, uploaded_at=now))
    session.add_all(rows)
    await session.flush()
    return rows


async def store_all(session: AsyncSession, store: FileStore, owner_kind: str, owner_id: int,
                    uploads: Sequence[Upload], *, by: int, now: datetime, max_bytes: int, max_files: int,
                    allow_documents: bool = False) -> list[Attachment]:
    checked = check(uploads, max_bytes=max_bytes, max_files=max_files, allow_documents=allow_documents)
    return await store_checked(session, store, owner_kind, owner_id, checked, by=by, now=now)


async def read(store: FileStore, key: str) -> bytes:
    """The bytes of a stored file; a store that cannot be reached (or lost the file) is a 503."""
    try:
        return await store.get(key)
    except (S3Error, OSError, httpx.HTTPError) as exc:
        raise ServiceUnavailable("the file store is unavailable; try again", code="file_store_unavailable") from exc


async def of(session: AsyncSession, owner_kind: str, owner_ids: Sequence[int]) -> Sequence[Attachment]:
    stmt = (select(Attachment).where(Attachment.owner_kind == owner_kind, Attachment.owner_id.in_(list(owner_ids)))
            .order_by(Attachment.id))
    return (await session.execute(stmt)).scalars().all()
