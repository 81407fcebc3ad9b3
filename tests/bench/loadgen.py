"""A small HTTP/1.1 keep-alive load generator on raw asyncio streams (loopback only, bounded in time)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

RequestFactory = Callable[[], tuple[bytes, dict[str, str]]]


@dataclass
class LoadResult:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile_ms(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def _client(host: str, port: int, path: str, factory: RequestFactory, stop_at: float,
                  measure_from: float, result: LoadResult) -> None:
    while time.perf_counter() < stop_at:
        try:
            await _connection(host, port, path, factory, stop_at, measure_from, result)
        except (ConnectionError, asyncio.IncompleteReadError):
            result.errors += 1  # the server dropped the connection: count it and reconnect


async def _connection(host: str, port: int, path: str, factory: RequestFactory, stop_at: float,
                      measure_from: float, result: LoadResult) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while True:
            now = time.perf_counter()
            if now >= stop_at:
                return
            body, headers = factory()
            head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            writer.write(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                         f"Content-Length: {len(body)}\r\n{head}\r\n".encode() + body)
            started = time.perf_counter()
            raw_head = await reader.readuntil(b"\r\n\r\n")
            status = int(raw_head[9:12])
            length = 0
            for line in raw_head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length:
                await reader.readexactly(length)
            elapsed = time.perf_counter() - started
            if started >= measure_from:
                result.statuses[status] = result.statuses.get(status, 0) + 1
                if 200 <= status < 300:
                    result.latencies.append(elapsed)
                else:
                    result.errors += 1
    finally:
        writer.close()


async def run_load(host: str, port: int, path: str, factory: RequestFactory, *, clients: int,
                   seconds: float, warmup: float) -> LoadResult:
    """``clients`` connections sending back-to-back for ``warmup + seconds``; only the last part counts."""
    assert host in ("127.0.0.1", "localhost", "::1"), "load tests stay on loopback"
    result = LoadResult(seconds=seconds)
    start = time.perf_counter()
    measure_from = start + warmup
    stop_at = measure_from + seconds
    await asyncio.gather(*(_client(host, port, path, factory, stop_at, measure_from, result)
                           for _ in range(clients)))
    return result
