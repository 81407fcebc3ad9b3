"""The assessment's and the materials score's numbers from the settings: the regulation's values unless
``LIANDONG_ASSESSMENT_CONFIG`` / ``LIANDONG_MATERIALS_CONFIG`` (JSON objects) override some of them."""

from __future__ import annotations

import dataclasses
import json
import os
from decimal import Decimal
from fractions import Fraction
from typing import Any, TypeVar

from services.core.assessment.rules import AssessmentConfig
from services.core.config import Settings
from services.core.records.rules import MaterialsConfig

T = TypeVar("T", AssessmentConfig, MaterialsConfig)


def _build(kind: type[T], raw: str | None, name: str) -> T:
    """The dataclass with the JSON's fields over its defaults; a clear error names the bad field."""
    if not raw:
        return kind()
    try:
        given: dict[str, Any] = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"{name} is not JSON: {exc}") from None
    fields = {f.name: f for f in dataclasses.fields(kind)}
    values: dict[str, Any] = {}
    for key, value in given.items():
        if key not in fields:
            raise ValueError(f"{name}: unknown field {key!r} (known: {', '.join(fields)})")
        default = getattr(kind(), key)
        if isinstance(default, Fraction):
            values[key] = Fraction(str(value))
        elif isinstance(default, Decimal):
            values[key] = Decimal(str(value))
        else:
            values[key] = type(default)(value)
    return kind(**values)


def assessment_config(settings: Settings | None = None) -> AssessmentConfig:
    """From the settings, or (a worker's duty, with no settings at hand) from the environment."""
    raw = settings.assessment_config if settings else os.environ.get("LIANDONG_ASSESSMENT_CONFIG")
    return _build(AssessmentConfig, raw, "LIANDONG_ASSESSMENT_CONFIG")


def materials_config(settings: Settings | None = None) -> MaterialsConfig:
    raw = settings.materials_config if settings else os.environ.get("LIANDONG_MATERIALS_CONFIG")
    return _build(MaterialsConfig, raw, "LIANDONG_MATERIALS_CONFIG")
