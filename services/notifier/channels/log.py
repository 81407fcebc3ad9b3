"""The development channel: writes the message to the log instead of sending it."""

from __future__ import annotations

import logging

from services.notifier.channels.base import Delivery, Outcome, SendResult

log = logging.getLogger("liandong.notifier.log_channel")


class LogChannel:
    name = "log"

    def __init__(self, stands_for: str) -> None:
        self.stands_for = stands_for  # the real channel this replaces in dev

    def rate_key(self, delivery: Delivery) -> str | None:
        return None

    async def send(self, delivery: Delivery) -> SendResult:
        log.info("[%s → %s] %s", self.stands_for, delivery.recipient, delivery.text)
        return SendResult(Outcome.sent, code="logged", request_summary=f"log {self.stands_for}")


class UnconfiguredChannel:
    """Live mode, a channel with no credentials: nothing is pretended sent. The message waits and
    retries (someone may configure it), then becomes a dead letter the operators are told about."""

    def __init__(self, name: str) -> None:
        self.name = name

    def rate_key(self, delivery: Delivery) -> str | None:
        return None

    async def send(self, delivery: Delivery) -> SendResult:
        return SendResult(Outcome.retryable, code="channel_not_configured",
                          request_summary=f"{self.name} has no credentials in this deployment")
