"""Uploaded files (photos, attachments): metadata here, bytes in the file store."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from services.core.db import Base


class Attachment(Base):
    """A photo or document of a record (an active case's before/after photos, later the records').

    ``owner_kind`` + ``owner_id`` say what it belongs to; who may read it is who may read the owner.
    """

    __tablename__ = "attachment"
    __table_args__ = (Index("ix_attachment_owner", "owner_kind", "owner_id"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    owner_kind: Mapped[str] = mapped_column(String(32))
    owner_id: Mapped[int] = mapped_column(BigInteger)
    stage: Mapped[str] = mapped_column(String(16))  # before | after | document
    content_type: Mapped[str] = mapped_column(String(64))  # sniffed from the bytes, never the client's word
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200))
    original_name: Mapped[str | None] = mapped_column(String(200))  # shown only; never used as a path
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("person.id"))
    uploaded_at: Mapped[datetime]
