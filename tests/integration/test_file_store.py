"""Photos in an S3-compatible store (a fake on 127.0.0.1 that checks Signature V4), and the local store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.core.config import Settings
from services.core.files.s3 import S3Error, S3FileStore
from services.core.files.storage import LocalFileStore
from services.core.files.stores import build_file_store
from tests.fakes.s3 import FakeS3State, build_app
from tests.fakes.server import serve_in_thread

S3 = FakeS3State()
JPEG = b"\xff\xd8\xff\xe0" + b"\x07" * 300


@pytest.fixture(scope="module")
def s3_url() -> Iterator[str]:
    with serve_in_thread(build_app(S3)) as url:
        yield url


async def test_s3_put_and_get_signed(s3_url: str) -> None:
    store = S3FileStore(s3_url, "liandong-files", "us-east-1", S3.access_key, S3.secret)
    key = await store.put(JPEG)
    assert await store.get(key) == JPEG
    assert f"liandong-files/liandong/{key[:2]}/{key}" in S3.objects
    with pytest.raises(S3Error, match="NoSuchKey"):
        await store.get("0" * 64)
    wrong = S3FileStore(s3_url, "liandong-files", "us-east-1", S3.access_key, "not-the-secret")
    with pytest.raises(S3Error, match="SignatureDoesNotMatch") as caught:
        await wrong.put(JPEG)
    assert "not-the-secret" not in str(caught.value)
    with pytest.raises(S3Error, match="NoSuchBucket"):
        await S3FileStore(s3_url, "nope", "us-east-1", S3.access_key, S3.secret).put(JPEG)
    with pytest.raises(ValueError):
        await store.get("../../etc/passwd")


async def test_local_store_is_content_addressed(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path)
    key = await store.put(JPEG)
    assert await store.put(JPEG) == key and await store.get(key) == JPEG
    assert list(tmp_path.rglob(".upload-*")) == []  # noqa: ASYNC240  (a test, after the fact)
    with pytest.raises(ValueError):
        await store.get("../x")


def test_settings_choose_the_store(tmp_path: Path) -> None:
    assert isinstance(build_file_store(Settings(env="dev", data_dir=tmp_path)), LocalFileStore)
    s3 = Settings(env="dev", file_store="s3", s3_endpoint="http://127.0.0.1:9", s3_bucket="b",
                  s3_access_key_id="k", s3_secret_access_key="s")
    assert isinstance(build_file_store(s3), S3FileStore)
    with pytest.raises(ValueError, match="LIANDONG_S3_BUCKET"):
        Settings(env="dev", file_store="s3", s3_endpoint="http://x", s3_access_key_id="k", s3_secret_access_key="s")
