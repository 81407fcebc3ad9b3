"""Where uploaded bytes live: content-addressed files on local disk (the default), or an S3-compatible
store when configured (``s3.py``).

The key is the SHA-256 of the bytes, so a client-supplied name never becomes a path and the same
photo uploaded twice is stored once. Local writes go to a temporary file first and are renamed into
place, so a crash never leaves half a photo under a real key.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Protocol


class FileStore(Protocol):
    async def put(self, data: bytes) -> str: ...

    async def get(self, key: str) -> bytes: ...


def content_key(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_key(key: str) -> str:
    if len(key) != 64 or not all(c in "0123456789abcdef" for c in key):
        raise ValueError("not a storage key")
    return key


class LocalFileStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        check_key(key)
        return self.root / key[:2] / key

    def _put(self, data: bytes) -> str:
        key = content_key(data)
        path = self._path(key)
        if path.exists():
            return key
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return key

    async def put(self, data: bytes) -> str:
        return await asyncio.to_thread(self._put, data)  # fsync must not stall the event loop

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self._path(key).read_bytes)
