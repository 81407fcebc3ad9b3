"""A fake S3-compatible store: checks Signature V4 with the secret it knows (403 SignatureDoesNotMatch,
403 InvalidAccessKeyId), keeps objects in memory, 404 NoSuchKey / NoSuchBucket, XML errors like S3."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.core.files.s3 import sign_v4


@dataclass
class FakeS3State:
    access_key: str = "fake-s3-key"
    secret: str = "fake-s3-secret"
    region: str = "us-east-1"
    buckets: set[str] = field(default_factory=lambda: {"liandong-files"})
    objects: dict[str, bytes] = field(default_factory=dict)


def _error(status: int, code: str, message: str) -> Response:
    body = f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message></Error>'
    return Response(body, status_code=status, media_type="application/xml")


def build_app(state: FakeS3State) -> Starlette:
    async def obj(request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        try:
            credential = auth.split("Credential=")[1].split(",")[0]
            signed_names = auth.split("SignedHeaders=")[1].split(",")[0].split(";")
        except IndexError:
            return _error(403, "AccessDenied", "Access Denied")
        if credential.split("/")[0] != state.access_key:
            return _error(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist.")
        body = await request.body()
        extra = {n: request.headers[n] for n in signed_names if n not in ("host", "x-amz-date", "x-amz-content-sha256")}
        now = datetime.strptime(request.headers.get("x-amz-date", ""), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        expected = sign_v4(request.method, str(request.url), extra, request.headers.get("x-amz-content-sha256", ""),
                           access_key=state.access_key, secret=state.secret, region=state.region, now=now)
        if expected["Authorization"] != auth:
            return _error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match.")
        bucket, key = request.path_params["bucket"], request.path_params["key"]
        if bucket not in state.buckets:
            return _error(404, "NoSuchBucket", "The specified bucket does not exist")
        if request.method == "PUT":
            state.objects[f"{bucket}/{key}"] = body
            return Response(status_code=200, headers={"ETag": '"fake"'})
        if f"{bucket}/{key}" not in state.objects:
            return _error(404, "NoSuchKey", "The specified key does not exist.")
        return Response(state.objects[f"{bucket}/{key}"], media_type="application/octet-stream")

    return Starlette(routes=[Route("/{bucket}/{key:path}", obj, methods=["GET", "PUT"])])
