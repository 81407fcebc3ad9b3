"""Request and response bodies of the quarterly assessment (季考核) and the reward split."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from services.api.schemas import Id, Orm, StorableIn


class PayRowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    person_id: Id
    paid_fen: int = Field(ge=0, le=10_000_000, description="performance pay actually paid, in fen")
    # Documented as a number: pydantic would also document "any string", which it then refuses.
    quality_score: Annotated[Decimal, Field(ge=0, le=20, max_digits=5, decimal_places=2), WithJsonSchema(
        {"type": "number", "minimum": 0, "maximum": 20, "multipleOf": 0.01})] | None = None


class PayIn(StorableIn):
    rows: list[PayRowIn] = Field(min_length=1, max_length=2000)


class ConductIn(StorableIn):
    person_id: Id
    reason: str = Field(min_length=1, max_length=2000)


class FundIn(StorableIn):
    fund_fen: int = Field(ge=0, le=100_000_000_000, description="以奖代补奖励资金, in fen")


class ReopenIn(StorableIn):
    reason: str = Field(min_length=1, max_length=2000)


class AssessmentOut(Orm):
    quarter: str
    status: str
    fund_fen: int | None
    result: dict[str, Any] | None
    computed_at: datetime | None
    published_at: datetime | None
    published_by: int | None
    history: list[dict[str, Any]]
