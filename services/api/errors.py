"""One error shape for every failure: ``{"error": {"code", "message", "fields"?}}``."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import DBAPIError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.core.errors import AppError

log = logging.getLogger(__name__)


class ErrorFieldOut(BaseModel):
    field: str
    message: str


class ErrorDetailOut(BaseModel):
    model_config = ConfigDict(extra="allow")  # some errors say more, e.g. ``retry_after``
    code: str
    message: str
    fields: list[ErrorFieldOut] | None = None


class ErrorOut(BaseModel):
    """The one error shape, documented on every route."""

    model_config = ConfigDict(extra="forbid", title="Error")
    error: ErrorDetailOut


ERROR_DESCRIPTIONS = {
    401: "Not authenticated: no, bad or expired token (`not_authenticated`, `invalid_token`, `token_expired`)",
    403: "Not allowed for the caller's role or communities (`role_not_allowed`, `community_not_linked`)",
    404: "Not found, or outside the caller's scope",
    409: "Conflicts with the current state or existing data (`transition_not_allowed`, `code_taken`, …)",
    413: "Request body over the limit (`body_too_large`)",
    422: "Invalid input, naming the fields (`validation_error`, `invalid_input`)",
    429: "Too many failed logins for the account or the address (`login_locked`, with `Retry-After`)",
    503: "Temporarily unavailable; the same request may succeed when sent again",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the given error statuses, each in the error shape."""
    return {status: {"model": ErrorOut, "description": ERROR_DESCRIPTIONS[status]} for status in statuses}


# What any route behind a bearer token may answer besides its own success (503: the database went away).
COMMON_ERRORS = error_responses(401, 403, 404, 409, 413, 422, 503)


_CONNECTION_LOST = (ConnectionError, asyncpg.PostgresConnectionError, asyncpg.CannotConnectNowError,
                    asyncpg.AdminShutdownError, asyncpg.CrashShutdownError)


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` is a lost or refused database connection (Postgres restarting, a failover), as
    raised by SQLAlchemy or by asyncpg directly (the webhook's intake pool), not a bug of ours."""
    seen: BaseException | None = exc
    for _ in range(6):  # SQLAlchemy wraps the driver's error, which wraps asyncpg's
        if seen is None:
            return False
        if isinstance(seen, _CONNECTION_LOST) or (isinstance(seen, DBAPIError) and seen.connection_invalidated):
            return True
        if isinstance(seen, OSError) and _raised_in_asyncpg(seen):  # e.g. the socket file gone while it restarts
            return True
        if isinstance(seen, asyncpg.InterfaceError) and "connection" in str(seen) and "closed" in str(seen):
            return True
        seen = getattr(seen, "orig", None) if isinstance(seen, DBAPIError) else (seen.__cause__ or seen.__context__)
    return False


def _raised_in_asyncpg(exc: BaseException) -> bool:
    tb = exc.__traceback__
    while tb is not None:
        if str(tb.tb_frame.f_globals.get("__name__", "")).startswith("asyncpg"):
            return True
        tb = tb.tb_next
    return False


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

    async def _database(request: Request, exc: Exception) -> JSONResponse:
        if database_unavailable(exc):  # a restart or failover under the request: not a bug, worth sending again
            log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
            return JSONResponse(error_body("database_unavailable", "the database is unavailable for a moment; "
                                           "send the request again"), status_code=503, headers={"Retry-After": "1"})
        return await _unexpected(request, exc)

    # Handlers for these classes answer without re-raising (the catch-all below re-raises to the server).
    for database_error in (DBAPIError, asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
        app.add_exception_handler(database_error, _database)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse(error_body("internal_error", "internal server error; it has been logged"),
                            status_code=500)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:  # FastAPI's only 400: a body it could not read (not UTF-8, a broken form)
            fields = [{"field": "body", "message": str(exc.detail)}]
            return JSONResponse(error_body("validation_error", "invalid request: body", fields=fields),
                                status_code=422)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code)
