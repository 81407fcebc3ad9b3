"""One error shape for every failure: ``{"error": {"code", "message", "fields"?}}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.core.errors import AppError

log = logging.getLogger(__name__)


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


def _field_name(loc: tuple[Any, ...]) -> str:
    # Drop FastAPI's "body"/"query"/"path" prefix: clients know where they sent it.
    parts = [str(p) for p in loc[1:]] if loc and loc[0] in ("body", "query", "path", "header", "form") else [
        str(p) for p in loc]
    return ".".join(parts) or str(loc[0] if loc else "body")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        if exc.status_code == 429 and "retry_after" in exc.details:
            headers = {"Retry-After": str(exc.details["retry_after"])}
        return JSONResponse(error_body(exc.code, exc.message, **exc.details), status_code=exc.status_code,
                            headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        fields = [{"field": _field_name(tuple(e["loc"])), "message": e["msg"]} for e in exc.errors()]
        message = "invalid request: " + ", ".join(f["field"] for f in fields)
        return JSONResponse(error_body("validation_error", message, fields=fields), status_code=422)

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        # A race past our own checks (e.g. two creates of one code); the transaction rolled back.
        log.info("integrity error: %s", exc.orig)
        return JSONResponse(error_body("constraint_violation", "the change conflicts with existing data"),
                            status_code=409)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse(error_body("internal_error", "internal server error; it has been logged"),
                            status_code=500)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code)
