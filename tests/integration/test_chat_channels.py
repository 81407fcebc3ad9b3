"""The WeCom app, DingTalk and Feishu channels against fake servers on 127.0.0.1 that answer like the
real ones: token caching and the one refresh on 40014/42001, signatures, every error in HTTP 200."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from services.cli import configure_logging
from services.notifier.channels.base import Delivery, Outcome
from services.notifier.channels.signed_robots import DingtalkRobotChannel, FeishuRobotChannel
from services.notifier.channels.wecom_app import WecomAppChannel
from tests.fakes.server import serve_in_thread
from tests.fakes.signed_robots import FakeRobotsState
from tests.fakes.signed_robots import build_app as build_robots
from tests.fakes.wecom_app import FakeWecomAppState
from tests.fakes.wecom_app import build_app as build_wecom_app

APP = FakeWecomAppState()
ROBOTS = FakeRobotsState()


@pytest.fixture(scope="module")
def wecom_app_url() -> Iterator[str]:
    with serve_in_thread(build_wecom_app(APP)) as url:
        yield url


@pytest.fixture(scope="module")
def robots_url() -> Iterator[str]:
    with serve_in_thread(build_robots(ROBOTS)) as url:
        yield url


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=2.0) as c:
        yield c


def to_person(userid: str | None, text: str = "【大联动·接单提醒】案件A1未接单", outbox_id: int = 1) -> Delivery:
    return Delivery(outbox_id, f"k{outbox_id}", {"person_id": 7, "name": "张三", "wecom_userid": userid}, text)


def to_group(text: str = "【大联动·接单超时上报】案件A1", mobiles: tuple[str, ...] = ("13900000011",)) -> Delivery:
    return Delivery(1, "k1", {"mentioned_mobiles": list(mobiles)}, text)


def wecom_channel(client: httpx.AsyncClient, url: str, clock: list[float], **kw: str) -> WecomAppChannel:
    return WecomAppChannel(client, url, kw.get("corp", APP.corp_id), kw.get("secret", APP.secret), 1000002,
                           monotonic=lambda: clock[0])


async def test_wecom_app_caches_the_token_and_refreshes_once(client: httpx.AsyncClient, wecom_app_url: str) -> None:
    APP.__init__()  # type: ignore[misc]
    clock = [0.0]
    channel = wecom_channel(client, wecom_app_url, clock)
    for i in range(3):
        result = await channel.send(to_person("zhangsan", f"【大联动】第{i}条"))
        assert result.outcome == Outcome.sent and result.provider_ref
    assert APP.token_calls == 1  # cached, not fetched per message
    APP.revoke_tokens()  # WeCom invalidates a token early: 40014, one refresh, one retry
    assert (await channel.send(to_person("zhangsan", "【大联动】第3条"))).outcome == Outcome.sent
    assert APP.token_calls == 2
    APP.now += 7300  # the fake's token expired; our cache still believes in it → 42001 → refresh
    assert (await channel.send(to_person("zhangsan", "【大联动】第4条"))).outcome == Outcome.sent
    assert APP.token_calls == 3 and [d["touser"] for d in APP.delivered] == ["zhangsan"] * 5
    clock[0] += 7200  # our own clock says expired: fetched before sending, no failed send first
    assert (await channel.send(to_person("zhangsan", "【大联动】第5条"))).outcome == Outcome.sent
    assert APP.token_calls == 4


async def test_wecom_app_errors_and_duplicates(client: httpx.AsyncClient, wecom_app_url: str) -> None:
    APP.__init__()  # type: ignore[misc]
    channel = wecom_channel(client, wecom_app_url, [0.0])
    unknown = await channel.send(to_person("nobody"))
    assert unknown.outcome == Outcome.permanent and unknown.code == "81013"
    assert (await channel.send(to_person(None))).code == "no_wecom_userid"
    # A retry of the same message (the answer was lost) is dropped by WeCom's duplicate check.
    first, again = await channel.send(to_person("lisi")), await channel.send(to_person("lisi"))
    assert first.outcome == again.outcome == Outcome.sent
    assert len(APP.delivered) == 1 and len(APP.deduped) == 1
    APP.script.extend([{"errcode": 45009}, {"errcode": -1}])
    limited = await channel.send(to_person("lisi", "【大联动】另一条"))
    assert limited.outcome == Outcome.rate_limited and limited.retry_after == 60.0
    assert (await channel.send(to_person("lisi", "【大联动】另一条"))).outcome == Outcome.retryable
    assert channel.rate_key(to_person("lisi")) == "wecom_app:1000002:lisi"
    bad_secret = await wecom_channel(client, wecom_app_url, [0.0], secret="wrong").send(to_person("lisi"))
    assert bad_secret.outcome == Outcome.permanent and bad_secret.code == "gettoken:40001"
    assert APP.secret not in str(bad_secret) and "access_token" not in bad_secret.request_summary


async def test_dingtalk_signed_mentions_and_throttle(client: httpx.AsyncClient, robots_url: str) -> None:
    ROBOTS.__init__()  # type: ignore[misc]
    channel = DingtalkRobotChannel(client, robots_url, ROBOTS.token, ROBOTS.secret, wall_clock=lambda: ROBOTS.now)
    result = await channel.send(to_group())
    assert result.outcome == Outcome.sent
    assert ROBOTS.dingtalk[0]["at"]["atMobiles"] == ["13900000011"]
    assert "@13900000011" in ROBOTS.dingtalk[0]["content"]
    assert ROBOTS.token not in result.request_summary and ROBOTS.secret not in str(result)
    for _ in range(19):
        assert (await channel.send(to_group())).outcome == Outcome.sent
    limited = await channel.send(to_group())  # the 21st within a minute: 130101, a 10-minute pause
    assert limited.outcome == Outcome.rate_limited and limited.retry_after == 600.0
    wrong = DingtalkRobotChannel(client, robots_url, ROBOTS.token, "SECwrong", wall_clock=lambda: ROBOTS.now)
    assert (await wrong.send(to_group())).outcome == Outcome.permanent
    skewed = DingtalkRobotChannel(client, robots_url, ROBOTS.token, ROBOTS.secret,
                                  wall_clock=lambda: ROBOTS.now - 7200)
    bad = await skewed.send(to_group())
    assert bad.outcome == Outcome.permanent and bad.response["errmsg"] == "invalid timestamp"
    ROBOTS.now += 601
    ROBOTS.dingtalk_window.clear()
    assert (await channel.send(to_group("没有关键词"))).code == "310000"  # keyword missing: configuration


async def test_feishu_signed_both_answer_forms_and_limits(client: httpx.AsyncClient, robots_url: str) -> None:
    ROBOTS.__init__()  # type: ignore[misc]
    channel = FeishuRobotChannel(client, robots_url, ROBOTS.token, ROBOTS.secret, wall_clock=lambda: ROBOTS.now)
    assert (await channel.send(to_group())).outcome == Outcome.sent
    ROBOTS.legacy_feishu = True
    assert (await channel.send(to_group())).outcome == Outcome.sent  # {"StatusCode": 0} is success too
    for _ in range(3):
        await channel.send(to_group())
    limited = await channel.send(to_group())  # the 6th within a second
    assert limited.outcome == Outcome.rate_limited and limited.code == "11232"
    wrong = FeishuRobotChannel(client, robots_url, ROBOTS.token, "bad", wall_clock=lambda: ROBOTS.now)
    assert (await wrong.send(to_group())).code == "19021"
    gone = FeishuRobotChannel(client, robots_url, "other", ROBOTS.secret, wall_clock=lambda: ROBOTS.now)
    assert (await gone.send(to_group())).outcome == Outcome.permanent


def test_request_urls_never_reach_the_logs() -> None:
    """httpx logs each request URL at INFO; robot keys and tokens travel in URLs."""
    import logging

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        configure_logging("DEBUG")
        assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING
        assert logging.getLogger("httpcore").getEffectiveLevel() >= logging.WARNING
    finally:  # pytest's own capture handlers back
        root.handlers[:] = handlers
        root.setLevel(level)
