"""What Postgres cannot store, found before it is asked to: NUL and lone surrogates in text, and
NaN or infinity in JSON numbers. A request carrying them gets 422 naming the field, not a 500."""

from __future__ import annotations

import math
import re
from typing import Any

from services.core.errors import InvalidInput

UNSTORABLE_TEXT = re.compile("[\x00\ud800-\udfff]")


def unstorable_paths(value: Any, path: str = "", *, item: str = "[{}]") -> list[str]:
    """Every path to a value that cannot be stored; ``item`` spells a list position in the path
    (``[0]`` by default, as the API's own fields; the district's contract spells it ``.0``)."""
    if isinstance(value, str):
        return [path or "body"] if UNSTORABLE_TEXT.search(value) else []
    if isinstance(value, float):
        return [] if math.isfinite(value) else [path or "body"]
    if isinstance(value, dict):
        return [found for k, v in value.items()
                for found in (unstorable_paths(str(k), path, item=item)
                              or unstorable_paths(v, f"{path}.{k}" if path else str(k), item=item))]
    if isinstance(value, list | tuple):
        return [found for i, v in enumerate(value) for found in unstorable_paths(v, path + item.format(i), item=item)]
    return []


def unstorable(value: Any, path: str = "") -> str | None:
    """The path of the first value that cannot be stored, or None."""
    found = unstorable_paths(value, path)
    return found[0] if found else None


def require_storable(value: Any, path: str = "") -> None:
    found = unstorable(value, path)
    if found is not None:
        raise InvalidInput(found, "contains a character or number that cannot be stored (NUL, a lone surrogate, "
                                  "NaN or infinity)", code="unstorable_value")
