"""The file store the settings ask for."""

from __future__ import annotations

from services.core.config import Settings
from services.core.files.s3 import S3FileStore
from services.core.files.storage import FileStore, LocalFileStore


def build_file_store(settings: Settings) -> FileStore:
    if settings.file_store == "s3":  # Settings refuses an incomplete S3 configuration at start
        return S3FileStore(settings.s3_endpoint or "", settings.s3_bucket or "", settings.s3_region,
                           settings.s3_access_key_id or "", settings.s3_secret_access_key or "",
                           prefix=settings.s3_prefix)
    return LocalFileStore(settings.data_dir / "files")
