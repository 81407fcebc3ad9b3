"""Starting and stopping real processes on 127.0.0.1 (e2e tests, the benchmarks, load and chaos)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def migrate_and_seed_cli(env: dict[str, str]) -> None:
    """``liandong migrate`` and ``liandong seed-demo --force`` against ``env``'s DATABASE_URL, as an operator would."""
    for command in (["migrate"], ["seed-demo", "--force"]):
        subprocess.run([sys.executable, "-m", "services.cli", *command], env=env, cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)


def start_ready(name: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    """``liandong <name>`` (api, escalator, notifier) on a free port, once it answers /readyz; and the port."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "services.cli", name], cwd=ROOT,
                            env={**env, f"LIANDONG_{name.upper()}_PORT": str(port)})
    wait_ready(f"http://127.0.0.1:{port}/readyz", proc)
    return proc, port


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """Poll ``url`` until it answers 200, failing early if the process dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{url}: process exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} not ready after {timeout}s")


def stop(proc: subprocess.Popen[bytes], timeout: float = 30.0) -> int:
    """SIGTERM, wait, SIGKILL if it will not go; the exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()
