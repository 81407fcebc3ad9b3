"""The notifier process: delivers outbox rows through WeCom, SMS, voice (and the log in dev)."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta

import httpx
from prometheus_client import Gauge
from sqlalchemy.ext.asyncio import AsyncEngine

from services.core.clock import SystemClock
from services.core.config import Settings
from services.core.db import create_sessionmaker, transaction
from services.core.outbox.repository import OutboxRepository
from services.core.worker_runtime import Listener, run_worker
from services.notifier.channels.aliyun import AliyunRpc, AliyunSmsChannel, AliyunVoiceChannel
from services.notifier.channels.base import Channel
from services.notifier.channels.district import DistrictChannel
from services.notifier.channels.log import LogChannel, UnconfiguredChannel
from services.notifier.channels.signed_robots import DingtalkRobotChannel, FeishuRobotChannel
from services.notifier.channels.wecom_app import WecomAppChannel
from services.notifier.channels.wecom_robot import WecomRobotChannel
from services.notifier.delivery import DeliveryPolicy, Notifier

log = logging.getLogger(__name__)
POLL_SECONDS = 0.5
OUTBOX_CHANNEL = "liandong_outbox"  # NOTIFYed by the escalator's firing statement
CHANNELS = ("wecom_robot", "wecom_app", "dingtalk", "feishu", "sms", "voice", "district", "log")


def build_channels(settings: Settings, client: httpx.AsyncClient) -> dict[str, Channel]:
    """Every channel name mapped to its adapter: all to the log in ``log`` mode."""
    channels: dict[str, Channel] = {name: LogChannel(name) for name in CHANNELS}
    if settings.notifier_mode != "live":
        return channels
    channels["wecom_robot"] = WecomRobotChannel(client, settings.wecom_robot_base_url)
    s = settings
    if s.aliyun_access_key_id and s.aliyun_access_key_secret:
        def rpc(endpoint: str) -> AliyunRpc:
            return AliyunRpc(client, endpoint, "2017-05-25", s.aliyun_access_key_id or "",
                             s.aliyun_access_key_secret or "")

        if s.sms_sign_name and s.sms_template_code:
            channels["sms"] = AliyunSmsChannel(rpc(s.aliyun_sms_endpoint), s.sms_sign_name, s.sms_template_code)
        if s.voice_tts_code and s.voice_show_number:
            channels["voice"] = AliyunVoiceChannel(rpc(s.aliyun_voice_endpoint), s.voice_tts_code,
                                                   s.voice_show_number)
    if s.wecom_corp_id and s.wecom_app_secret and s.wecom_agent_id is not None:
        channels["wecom_app"] = WecomAppChannel(client, s.wecom_api_base_url, s.wecom_corp_id, s.wecom_app_secret,
                                                s.wecom_agent_id)
    if s.dingtalk_robot_token:
        channels["dingtalk"] = DingtalkRobotChannel(client, s.dingtalk_base_url, s.dingtalk_robot_token,
                                                    s.dingtalk_robot_secret)
    if s.feishu_robot_token:
        channels["feishu"] = FeishuRobotChannel(client, s.feishu_base_url, s.feishu_robot_token,
                                                s.feishu_robot_secret)
    if s.district_api_url:
        channels["district"] = DistrictChannel(client, s.district_api_url, s.district_secret)
    for name in ("wecom_app", "dingtalk", "feishu", "sms", "voice", "district"):
        if isinstance(channels[name], LogChannel):
            # Never pretend: in live mode nobody reads the log, so its messages wait and then alert.
            log.warning("channel %s is not configured: its messages wait (and become dead letters)", name)
            channels[name] = UnconfiguredChannel(name)
    return channels


OUTBOX_DEPTH = Gauge("liandong_outbox_messages", "Outbox messages not sent, by state", ["state"])
OUTBOX_AGE = Gauge("liandong_outbox_oldest_ready_age_seconds",
                   "How long the oldest message ready to go has waited (0 when none)")
MEASURE_EVERY = 5.0  # seconds: the count is cheap (partial indexes) but not free
_measured = {"at": 0.0}


async def _measure_outbox(engine: AsyncEngine) -> None:
    if time.monotonic() - _measured["at"] < MEASURE_EVERY:
        return
    _measured["at"] = time.monotonic()
    async with transaction(create_sessionmaker(engine)) as session:
        depth = await OutboxRepository(session).depth(SystemClock().now())
    for state in ("pending", "checking", "sending", "looking_up", "dead", "unknown"):
        OUTBOX_DEPTH.labels(state).set(depth["by_state"].get(state, 0))
    OUTBOX_AGE.set(depth["oldest_ready_age_seconds"])


async def main(settings: Settings) -> None:
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0)) as client:
        channels = build_channels(settings, client)
        state: dict[str, Notifier] = {}
        listener = Listener(settings.database_url or "", OUTBOX_CHANNEL)

        async def tick(engine: AsyncEngine, wake: asyncio.Event) -> float | None:
            await listener.ensure(wake)  # the escalator NOTIFYs when it queues reminders
            if "n" not in state:
                state["n"] = Notifier(create_sessionmaker(engine), channels, SystemClock(),
                                      DeliveryPolicy(concurrency=settings.notifier_concurrency,
                                                     lease=timedelta(seconds=settings.notifier_lease_seconds)))
            handled = await state["n"].pump()
            await _measure_outbox(engine)
            # Busy: straight on (after a look at SIGTERM); the pump itself waits on its sends.
            return 0.0 if handled or state["n"].busy else POLL_SECONDS

        async def drain() -> None:  # a graceful stop finishes the sends in flight
            if "n" in state:
                await state["n"].drain()

        await run_worker("notifier", settings.notifier_port, settings, tick, interval_seconds=POLL_SECONDS,
                         on_stop=drain)
