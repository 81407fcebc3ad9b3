"""What the escalator and notifier share: connect, serve /healthz /readyz /metrics, loop, stop cleanly."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg
import uvicorn
from fastapi import FastAPI
from prometheus_client import Gauge
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

import services.core.models  # noqa: F401  (every table registered: the ORM resolves foreign keys by name)
from services.core.config import Settings
from services.core.db import create_engine, plain_url
from services.core.ops import attach_ops

log = logging.getLogger(__name__)
HEARTBEAT = Gauge("liandong_worker_heartbeat_timestamp_seconds", "Last loop iteration", ["process"])

# One iteration of a worker; returns how long it may sleep (None: the default interval). It is woken
# early through ``wake`` (e.g. by LISTEN/NOTIFY).
Tick = Callable[[AsyncEngine, asyncio.Event], Awaitable[float | None]]


async def ping_database(engine: AsyncEngine, wake: asyncio.Event | None = None) -> float | None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return None


class _OpsServer(uvicorn.Server):
    """uvicorn without its own signal handling: the worker loop owns SIGTERM/SIGINT."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _sleep(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    """Sleep on the loop's monotonic clock until ``seconds`` pass, a wake-up, or a stop."""
    if seconds <= 0:
        return
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
        wake.clear()


class Listener:
    """LISTEN on a channel and set ``wake`` on each NOTIFY; reconnects on the next ``ensure`` after a
    drop (a Postgres restart). The bounded poll of the worker loop covers the gap."""

    def __init__(self, database_url: str, channel: str) -> None:
        self.database_url = database_url
        self.channel = channel
        self.conn: asyncpg.Connection | None = None

    async def ensure(self, wake: asyncio.Event) -> None:
        if self.conn is not None and not self.conn.is_closed():
            return
        try:
            self.conn = await asyncpg.connect(plain_url(self.database_url))
            await self.conn.add_listener(self.channel, lambda *_: wake.set())
        except (OSError, asyncpg.PostgresError):
            log.warning("cannot LISTEN on %s; polling", self.channel)


def dump_tasks() -> None:
    """SIGUSR1: log where every asyncio task of this process is waiting (a worker that looks stuck)."""
    for task in asyncio.all_tasks():
        frames: list[str] = []
        awaited: Any = task.get_coro()
        while awaited is not None and len(frames) < 30:  # follow the chain of awaits down to the leaf
            frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "gi_frame", None)
            if frame is not None:
                frames.append(f"{frame.f_code.co_filename.rsplit('/', 1)[-1]}:{frame.f_lineno} {frame.f_code.co_name}")
            awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "gi_yieldfrom", None)
        log.warning("task %s: %s", task.get_name(), " > ".join(frames))


def ops_app(process: str, engine: AsyncEngine) -> FastAPI:
    app = FastAPI(title=f"liandong {process}", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.engine = engine
    attach_ops(app, process)
    return app


async def run_worker(process: str, port: int, settings: Settings, tick: Tick,
                     interval_seconds: float = 5.0, on_stop: Callable[[], Awaitable[None]] | None = None) -> None:
    """Run ``tick`` until SIGTERM/SIGINT, sleeping what it asks (at most ``interval_seconds``) or
    until woken; the ops endpoints listen on ``port``. A stop lets the running iteration finish, then
    awaits ``on_stop`` (work the iterations left running)."""
    engine = create_engine(settings.database_url or "", pool_size=5, max_overflow=10,
                           application_name=f"liandong-{process}")
    await ping_database(engine)  # fail fast on a wrong URL
    server = _OpsServer(uvicorn.Config(ops_app(process, engine), host=settings.api_host, port=port,
                                           log_level="warning", lifespan="off"))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, dump_tasks)
    serve = asyncio.create_task(server.serve())
    log.info("%s started; ops endpoints on http://%s:%d", process, settings.api_host, port)
    wake = asyncio.Event()
    try:
        while not stop.is_set():
            delay: float | None = interval_seconds
            try:
                delay = await tick(engine, wake)
                HEARTBEAT.labels(process).set_to_current_time()
            except Exception:  # a failed iteration is retried on the next one
                log.exception("%s iteration failed", process)
            await _sleep(stop, wake, min(interval_seconds, delay if delay is not None else interval_seconds))
    finally:
        if on_stop is not None:
            await on_stop()
        server.should_exit = True
        await serve
        await engine.dispose()
        log.info("%s stopped", process)
