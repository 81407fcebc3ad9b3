"""Password hashing (argon2) and access tokens (JWT, HS256)."""

from __future__ import annotations

from datetime import datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from services.core.errors import NotAuthenticated

_hasher = PasswordHasher()
_ALGORITHM = "HS256"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_access_token(person_id: int, *, secret: str, now: datetime, minutes: int) -> str:
    payload = {"sub": str(person_id), "iat": int(now.timestamp()),
               "exp": int((now + timedelta(minutes=minutes)).timestamp())}
    return jwt.encode(payload, secret, algorithm=_ALGORITHM)


def decode_access_token(token: str, *, secret: str, now: datetime) -> int:
    """The person id in a valid, unexpired token; otherwise ``NotAuthenticated``."""
    try:
        # Times are checked against the injected clock below, not the system clock inside PyJWT.
        payload = jwt.decode(token, secret, algorithms=[_ALGORITHM],
                             options={"verify_exp": False, "verify_iat": False, "verify_nbf": False})
        person_id = int(payload["sub"])
        exp = int(payload["exp"])
    except (jwt.PyJWTError, KeyError, ValueError, TypeError) as exc:
        raise NotAuthenticated("invalid access token", code="invalid_token") from exc
    if now.timestamp() >= exp:  # checked against the injected clock, not the system's
        raise NotAuthenticated("access token expired", code="token_expired")
    return person_id
