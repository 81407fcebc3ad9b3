"""What the upload routes share: the limits from the settings, and reading a form's files."""

from __future__ import annotations

from datetime import timedelta

from fastapi import UploadFile

from services.core.active import service
from services.core.config import Settings
from services.core.errors import InvalidInput
from services.core.files.attachments import Upload


def limits(settings: Settings) -> service.ActiveCaseLimits:
    return service.ActiveCaseLimits(
        max_photo_bytes=settings.upload_max_bytes, max_photos=settings.upload_max_files,
        duplicate_window=timedelta(hours=settings.duplicate_window_hours),
        duplicate_radius_m=settings.duplicate_radius_m,
        handling_time=timedelta(hours=settings.active_case_handling_hours))


async def read_uploads(files: list[UploadFile], field: str, stage: str, max_bytes: int, max_files: int
                       ) -> list[Upload]:
    """The files of a form, counted before any is read, each read to one byte past the limit."""
    if len(files) > max_files:  # counted before anything is read
        raise InvalidInput(field, f"at most {max_files} files", code="too_many_files")
    uploads = []
    for f in files:
        data = await f.read(max_bytes + 1)  # one byte more than allowed is enough to refuse it
        uploads.append(Upload(field, stage, f.filename, data))
    return uploads
