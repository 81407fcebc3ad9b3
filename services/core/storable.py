"""What Postgres cannot store, found before it is asked to: NUL and lone surrogates in text, and
NaN or infinity in JSON numbers. A request carrying them gets 422 naming the field, not a 500."""

from __future__ import annotations

import math
import re
from typing import Any

from services.core.errors import InvalidInput

UNSTORABLE_TEXT = re.compile("[\x00\ud800-\udfff]")


def unstorable(value: Any, path: str = "") -> str | None:
    """The path of the first value that cannot be stored, or None."""
    if isinstance(value, str):
        return (path or "body") if UNSTORABLE_TEXT.search(value) else None
    if isinstance(value, float):
        return None if math.isfinite(value) else (path or "body")
    if isinstance(value, dict):
        for k, v in value.items():
            found = unstorable(str(k), path) or unstorable(v, f"{path}.{k}" if path else str(k))
            if found:
                return found
    if isinstance(value, list | tuple):
        for i, v in enumerate(value):
            found = unstorable(v, f"{path}[{i}]")
            if found:
                return found
    return None


def require_storable(value: Any, path: str = "") -> None:
    found = unstorable(value, path)
    if found is not None:
        raise InvalidInput(found, "contains a character or number that cannot be stored (NUL, a lone surrogate, "
                                  "NaN or infinity)", code="unstorable_value")
