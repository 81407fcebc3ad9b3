"""An embedded Postgres (the ``pgserver`` wheel ships real binaries) for machines without one."""

from __future__ import annotations

import logging
import os
import shutil
import warnings
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def start_embedded_postgres(pgdata: Path, *, fresh: bool = False, keep_running: bool = False) -> str:
    """Start (or reuse) a Postgres cluster in ``pgdata`` and return its connection URL.

    ``fresh`` wipes the directory first (tests). ``keep_running`` leaves the server up after this
    process exits; otherwise it stops when the last process that asked for it is gone.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR
        import pgserver

    pgdata = pgdata.resolve()
    if fresh and pgdata.exists():
        _stop_quietly(pgdata)
        shutil.rmtree(pgdata)
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server: Any = pgserver.get_server(pgdata, cleanup_mode=None if keep_running else "stop")
    url: str = server.get_uri()
    log.info("embedded postgres at %s", pgdata)
    return url


def restart_embedded_postgres(pgdata: Path, *, mode: str = "immediate") -> None:
    """Restart the cluster in ``pgdata`` (fault tests): ``immediate`` is a crash, with recovery after."""
    from pgserver import _commands

    pg_ctl = getattr(_commands, "pg_ctl")  # noqa: B009
    user = "pgserver" if os.geteuid() == 0 else None
    pg_ctl(["-m", mode, "-w", "restart"], pgdata=pgdata.resolve(), user=user, timeout=60)


def stop_embedded_postgres(pgdata: Path) -> None:
    _stop_quietly(pgdata.resolve())


def _stop_quietly(pgdata: Path) -> None:
    try:
        from pgserver import _commands

        pg_ctl = getattr(_commands, "pg_ctl")  # generated at import time  # noqa: B009
        if (pgdata / "postmaster.pid").exists():
            user = "pgserver" if os.geteuid() == 0 else None  # pgserver runs as this user under root
            pg_ctl(["-m", "immediate", "stop"], pgdata=pgdata, user=user, timeout=10)
    except Exception:  # a dead or half-made cluster is removed anyway
        log.debug("could not stop embedded postgres in %s", pgdata, exc_info=True)
