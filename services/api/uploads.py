"""What the upload routes share: the limits from the settings and the configured file store."""

from __future__ import annotations

from datetime import timedelta

from services.core.active import service
from services.core.config import Settings
from services.core.files.storage import FileStore
from services.core.files.stores import build_file_store


def limits(settings: Settings) -> service.ActiveCaseLimits:
    return service.ActiveCaseLimits(
        max_photo_bytes=settings.upload_max_bytes, max_photos=settings.upload_max_files,
        duplicate_window=timedelta(hours=settings.duplicate_window_hours),
        duplicate_radius_m=settings.duplicate_radius_m,
        handling_time=timedelta(hours=settings.active_case_handling_hours))


def store(settings: Settings) -> FileStore:
    return build_file_store(settings)
