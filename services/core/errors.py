"""One base error that carries its HTTP status and a stable code; one handler formats them all."""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details or {}


class NotAuthenticated(AppError):
    status_code = 401
    code = "not_authenticated"


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"


class NotFound(AppError):
    status_code = 404
    code = "not_found"


class Conflict(AppError):
    status_code = 409
    code = "conflict"


class ServiceUnavailable(AppError):
    """Temporary: the same request may succeed when sent again."""

    status_code = 503
    code = "service_unavailable"


class InvalidInput(AppError):
    """A semantically invalid field that schema validation cannot see (e.g. an unknown code)."""

    status_code = 422
    code = "invalid_input"

    def __init__(self, field: str, message: str, *, code: str | None = None):
        super().__init__(f"{field}: {message}", code=code, details={"fields": [{"field": field,
                                                                                "message": message}]})
