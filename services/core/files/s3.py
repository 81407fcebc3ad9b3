"""An S3-compatible object store (MinIO, Alibaba OSS's S3 API, AWS) with plain httpx and Signature V4.

Path-style requests (``{endpoint}/{bucket}/{key}``), which every S3-compatible store accepts.
The secret never leaves this module; errors name the bucket and key, never the credentials.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

import httpx

from services.core.files.storage import check_key, content_key

ALGORITHM = "AWS4-HMAC-SHA256"


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def sign_v4(method: str, url: str, headers: dict[str, str], payload_hash: str, *, access_key: str, secret: str,
            region: str, now: datetime, service: str = "s3") -> dict[str, str]:
    """The headers to add (``x-amz-date``, ``x-amz-content-sha256``, ``Authorization``) to sign a request."""
    parts = urlsplit(url)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    signed = {**{k.lower(): v.strip() for k, v in headers.items()}, "host": parts.netloc,
              "x-amz-content-sha256": payload_hash, "x-amz-date": amz_date}
    names = sorted(signed)
    canonical = "\n".join([
        method, quote(parts.path or "/", safe="/-_.~"),
        "&".join(sorted(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in
                        (p.split("=", 1) if "=" in p else (p, "") for p in parts.query.split("&") if p))),
        "".join(f"{n}:{signed[n]}\n" for n in names), ";".join(names), payload_hash])
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join([ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(_hmac(f"AWS4{secret}".encode(), day), region), service), "aws4_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return {"x-amz-date": amz_date, "x-amz-content-sha256": payload_hash,
            "Authorization": f"{ALGORITHM} Credential={access_key}/{scope}, SignedHeaders={';'.join(names)}, "
                             f"Signature={signature}"}


class S3Error(Exception):
    pass


class S3FileStore:
    """Content-addressed objects under ``prefix`` in ``bucket`` (the same keys as the local store)."""

    def __init__(self, endpoint: str, bucket: str, region: str, access_key: str, secret: str, *,
                 prefix: str = "liandong/", timeout: float = 30.0) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.bucket = bucket
        self.region = region
        self.access_key = access_key
        self.secret = secret
        self.prefix = prefix
        self.timeout = timeout

    def _url(self, key: str) -> str:
        check_key(key)
        return f"{self.endpoint}/{self.bucket}/{self.prefix}{key[:2]}/{key}"

    async def _request(self, method: str, key: str, body: bytes = b"") -> httpx.Response:
        url = self._url(key)
        headers = {"content-type": "application/octet-stream"} if method == "PUT" else {}
        headers |= sign_v4(method, url, headers, hashlib.sha256(body).hexdigest(), access_key=self.access_key,
                           secret=self.secret, region=self.region, now=datetime.now(UTC))
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            return await client.request(method, url, content=body if method == "PUT" else None, headers=headers)

    async def put(self, data: bytes) -> str:
        key = content_key(data)
        r = await self._request("PUT", key, data)
        if r.status_code != 200:
            raise S3Error(f"storing {self.bucket}/{self.prefix}{key} failed: HTTP {r.status_code} {_code(r)}")
        return key

    async def get(self, key: str) -> bytes:
        r = await self._request("GET", key)
        if r.status_code != 200:
            raise S3Error(f"reading {self.bucket}/{self.prefix}{key} failed: HTTP {r.status_code} {_code(r)}")
        return r.content


def _code(r: httpx.Response) -> str:
    text = r.text
    start, end = text.find("<Code>"), text.find("</Code>")
    return text[start + 6:end] if 0 <= start < end else ""
