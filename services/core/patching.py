"""Partial updates (PATCH): set only the fields the client sent."""

from __future__ import annotations

from typing import Any


def set_given(obj: object, **values: Any) -> None:
    """Set each attribute whose new value is not None; None means "not sent", never "clear"."""
    for name, value in values.items():
        if value is not None:
            setattr(obj, name, value)
