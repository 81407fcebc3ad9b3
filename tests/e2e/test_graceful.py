"""Graceful shutdown with real processes: on SIGTERM the api finishes the request it is reading, the
notifier finishes the sends it has claimed, the escalator finishes its batch; then each exits cleanly."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import time
from collections.abc import Callable

import asyncpg

from services.core.cases.district_contract import sign
from services.core.db import plain_url
from tests.bench.bench_escalator import POLICY, prepare
from tests.conftest import DISTRICT_SECRET, JWT_SECRET
from tests.fakes.aliyun import FakeAliyunState
from tests.fakes.aliyun import build_app as build_aliyun
from tests.fakes.server import serve_in_thread
from tests.helpers import event
from tests.procs import migrate_and_seed_cli, start_ready


def _env(url: str) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": url, "LIANDONG_ENV": "test", "LIANDONG_JWT_SECRET": JWT_SECRET,
           "LIANDONG_DISTRICT_SECRET": DISTRICT_SECRET, "LIANDONG_LOG_LEVEL": "WARNING"}
    migrate_and_seed_cli(env)
    return env


def _sql(url: str, query: str, *args: object) -> list[asyncpg.Record]:
    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(plain_url(url))
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()

    return asyncio.run(run())


def test_sigterm_lets_the_api_finish_the_request_it_is_reading(new_database: Callable[[], str]) -> None:
    url = new_database()
    api, port = start_ready("api", _env(url))
    try:
        raw = json.dumps(event(district_case_id="JF-GRACE-1", community_code="BJZL-01")).encode()
        ts = str(int(time.time()))
        head = (f"POST /api/v1/district/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(raw)}\r\nX-Liandong-Timestamp: {ts}\r\n"
                f"X-Liandong-Signature: {sign(DISTRICT_SECRET, ts, raw)}\r\n\r\n").encode()
        with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
            conn.sendall(head + raw[:20])  # the district is half way through sending its event
            time.sleep(1.0)  # the api has read the head: the request is in flight
            api.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            assert api.poll() is None  # still there, waiting for the rest
            conn.sendall(raw[20:])
            answer = conn.recv(65536).decode()
        assert answer.startswith("HTTP/1.1 201"), answer
        code = api.wait(timeout=30)
        assert code in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once drained
    finally:
        if api.poll() is None:
            api.kill()
    assert _sql(url, "SELECT status FROM passive_case WHERE district_case_id = 'JF-GRACE-1'")[0][0] == "dispatched"


def test_sigterm_lets_the_notifier_finish_its_claimed_sends(new_database: Callable[[], str]) -> None:
    url = new_database()
    env = _env(url)
    state = FakeAliyunState()
    state.script.extend({"delay": 1.5} for _ in range(6))  # slow answers: the sends are in flight at SIGTERM
    with serve_in_thread(build_aliyun(state)) as fake:
        env.update({"LIANDONG_NOTIFIER_MODE": "live", "LIANDONG_ALIYUN_ACCESS_KEY_ID": "fake-ak",
                    "LIANDONG_ALIYUN_ACCESS_KEY_SECRET": "fake-secret", "LIANDONG_ALIYUN_SMS_ENDPOINT": fake + "/",
                    "LIANDONG_SMS_SIGN_NAME": "北京中路街道", "LIANDONG_SMS_TEMPLATE_CODE": "SMS_100001"})
        _sql(url, """INSERT INTO outbox (idem_key, channel, recipient, message, state, attempts, next_attempt_at,
                                         created_at)
                     SELECT 'grace:' || g, 'sms', '{"person_id": 1, "mobile": "13900000011"}'::jsonb,
                            '{"text": "提醒", "params": {"case": "JF-1"}}'::jsonb, 'pending', 0, now(), now()
                     FROM generate_series(1, 6) g""")
        notifier, _ = start_ready("notifier", env)
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not _sql(url, "SELECT 1 FROM outbox WHERE state = 'sending'"):
                time.sleep(0.05)
            notifier.send_signal(signal.SIGTERM)
            assert notifier.wait(timeout=30) == 0
        finally:
            if notifier.poll() is None:
                notifier.kill()
    states = [r[0] for r in _sql(url, "SELECT state FROM outbox WHERE idem_key LIKE 'grace:%'")]
    assert states == ["sent"] * 6  # none left leased to a process that is gone
    assert len([a for a in state.accepted if a.get("Action") == "SendSms" and "scripted_delay" not in a]) == 6


def test_sigterm_lets_the_escalator_finish_its_batch(new_database: Callable[[], str]) -> None:
    url = new_database()
    env = _env(url)

    async def backlog() -> None:
        conn = await asyncpg.connect(plain_url(url))
        try:
            await conn.execute("UPDATE escalation_policy SET nodes = $1::jsonb WHERE kind = 'acceptance' AND active",
                               json.dumps(POLICY))
            await prepare(conn, 5000, start=time.time() - 5, spread=4, prefix="G")
        finally:
            await conn.close()

    asyncio.run(backlog())
    escalator, _ = start_ready("escalator", env)
    time.sleep(0.2)
    escalator.send_signal(signal.SIGTERM)
    assert escalator.wait(timeout=30) == 0
    fired, reminded = _sql(url, """SELECT (SELECT count(*) FROM case_timer WHERE state = 'fired'),
                                          (SELECT count(DISTINCT timer_id) FROM reminder)""")[0]
    assert fired == reminded  # whole batches only: no timer fired without its reminder
