"""The api, escalator and notifier as real processes the chaos monkey can kill and restart on fixed ports."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.procs import free_port, stop

NAMES = ("api", "escalator", "notifier")


class Fleet:
    """One process per name, each always on the same port (clients reconnect to the same address)."""

    def __init__(self, env: dict[str, str], root: Path, logs: Path) -> None:
        self.env = env
        self.root = root
        self.logs = logs
        logs.mkdir(parents=True, exist_ok=True)
        self.ports = {name: free_port() for name in NAMES}
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.exits: dict[str, int] = {}  # exits nobody asked for (e.g. started while Postgres was down)

    def base_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def start(self, name: str) -> None:
        if name in self.procs and self.procs[name].poll() is None:
            return
        env = {**self.env, f"LIANDONG_{name.upper()}_PORT": str(self.ports[name])}
        with (self.logs / f"{name}.log").open("ab") as out:
            self.procs[name] = subprocess.Popen([sys.executable, "-m", "services.cli", name], cwd=self.root,
                                                env=env, stdout=out, stderr=subprocess.STDOUT)

    def kill(self, name: str) -> None:
        proc = self.procs.get(name)
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)

    def restart_exited(self) -> None:
        for name, proc in list(self.procs.items()):
            if proc.poll() is None:
                continue
            if proc.returncode != -signal.SIGKILL:  # not the monkey's doing
                self.exits[name] = self.exits.get(name, 0) + 1
            self.start(name)

    def ready(self) -> dict[str, bool]:
        out = {}
        for name in NAMES:
            try:
                out[name] = httpx.get(f"{self.base_url(name)}/readyz", timeout=2).status_code == 200
            except httpx.TransportError:
                out[name] = False
        return out

    def wait_all_ready(self, timeout: float) -> float:
        """Seconds until all three answer /readyz with 200 (restarting any that exit meanwhile)."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if all(self.ready().values()):
                return time.monotonic() - started
            self.restart_exited()
            time.sleep(0.3)
        raise AssertionError(f"not ready after {timeout} s: {self.ready()}")

    def stop_all(self) -> dict[str, int]:
        return {name: stop(proc) for name, proc in self.procs.items()}
