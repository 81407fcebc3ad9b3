"""Faults a fake vendor plays at random when run for the chaos suite (``tests.fakes.run NAME PORT --chaos SEED``).

Each request draws one fate. The fake turns it into its own vendor's answer (Aliyun's ``isp.SYSTEM_ERROR``,
the district's 503 or 429 with ``Retry-After``), so the notifier meets the errors it meets in production:
- ``fail``: an error the vendor answers at once, nothing taken;
- ``slow``: the right answer, late but within the caller's timeout;
- ``lost``: the vendor takes the request, then answers after the caller gave up (an ambiguous send).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal

Fate = Literal["ok", "fail", "throttle", "slow", "lost"]


@dataclass
class Chaos:
    seed: int
    fail: float = 0.08
    throttle: float = 0.04
    slow: float = 0.05
    lost: float = 0.01
    slow_seconds: tuple[float, float] = (0.3, 2.0)
    lost_seconds: float = 12.0  # past the notifier's 10 s read timeout
    counts: dict[str, int] = field(default_factory=dict)
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def draw(self) -> Fate:
        x = self.rng.random()
        fate: Fate = "ok"
        for name, p in (("fail", self.fail), ("throttle", self.throttle), ("slow", self.slow), ("lost", self.lost)):
            if x < p:
                fate = name  # type: ignore[assignment]
                break
            x -= p
        self.counts[fate] = self.counts.get(fate, 0) + 1
        return fate

    def slow_delay(self) -> float:
        return self.rng.uniform(*self.slow_seconds)
