"""The ``liandong`` command: api, escalator, notifier, run (all three), migrate, seed-demo."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import signal
import subprocess
import sys
import time

from services.core import logs
from services.core.config import Settings, get_settings
from services.core.db import create_engine, create_sessionmaker, transaction
from services.core.errors import AppError
from services.core.ops import MIGRATIONS_DIR

log = logging.getLogger("liandong")


def configure_logging(level: str, fmt: str = "text") -> None:
    logs.configure(level, fmt)


def resolve_database_url(settings: Settings) -> Settings:
    """The settings with a database URL: the configured one, else an embedded Postgres in data_dir."""
    if settings.database_url:
        return settings
    from services.core.embedded_pg import start_embedded_postgres

    url = start_embedded_postgres(settings.data_dir / "pg", keep_running=False)
    os.environ["DATABASE_URL"] = url  # children (run) and alembic see the same server
    return settings.model_copy(update={"database_url": url})


def migrate(settings: Settings, revision: str = "head") -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["database_url"] = settings.database_url
    command.upgrade(cfg, revision)


async def _seed(settings: Settings) -> bool:
    from services.core.demo import seed_demo

    engine = create_engine(settings.database_url or "", pool_size=1, max_overflow=0)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            return await seed_demo(session)
    finally:
        await engine.dispose()


async def _create_admin(settings: Settings, username: str, name: str, password: str) -> None:
    from services.core.org.service import create_admin

    engine = create_engine(settings.database_url or "", pool_size=1, max_overflow=0)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            await create_admin(session, username=username, name=name, password=password)
    finally:
        await engine.dispose()


def _serve_api(settings: Settings) -> None:
    import uvicorn

    # log_config=None: uvicorn's own lines go through our handler (one JSON object per line, too).
    uvicorn.run("services.api.app:create_app", factory=True, host=settings.api_host, port=settings.api_port,
                log_level=settings.log_level.lower(), loop="uvloop", http="httptools", access_log=False,
                timeout_graceful_shutdown=20, log_config=None)


def _run_all(settings: Settings) -> int:
    """Start api, escalator and notifier as child processes; stop them all on SIGINT/SIGTERM."""
    migrate(settings)
    if settings.env == "dev" and asyncio.run(_seed(settings)):
        print("seeded the demo street 北京中路街道")
    env = {**os.environ, "DATABASE_URL": settings.database_url or ""}
    children = [subprocess.Popen([sys.executable, "-m", "services.cli", name], env=env)
                for name in ("api", "escalator", "notifier")]
    base = f"http://{settings.api_host}:{settings.api_port}"
    print(f"\nLiandong is starting.\n  API docs:  {base}/docs\n  health:    {base}/healthz  {base}/readyz\n"
          f"  escalator: http://{settings.api_host}:{settings.escalator_port}/healthz\n"
          f"  notifier:  http://{settings.api_host}:{settings.notifier_port}/healthz")
    if settings.env == "dev":
        from services.core.demo import DEMO_PASSWORD, DEMO_PEOPLE

        print(f"  demo logins (password {DEMO_PASSWORD}): " + ", ".join(p.username for p in DEMO_PEOPLE))
    print("Press Ctrl+C to stop.\n", flush=True)

    stopping = False

    def _stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    exit_code = 0
    while not stopping:
        for child in children:
            if child.poll() is not None:
                log.error("a child process exited with %s; stopping all", child.returncode)
                stopping, exit_code = True, 1
        time.sleep(0.5)
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=25)
        except subprocess.TimeoutExpired:
            child.kill()
    return exit_code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="liandong", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("api", help="serve the REST API and the district webhook")
    sub.add_parser("escalator", help="run the reminder timers and calendar duties")
    sub.add_parser("notifier", help="deliver reminders (WeCom, SMS, voice, district)")
    sub.add_parser("run", help="migrate, seed the demo (dev), start api + escalator + notifier")
    m = sub.add_parser("migrate", help="upgrade the database schema")
    m.add_argument("revision", nargs="?", default="head")
    a = sub.add_parser("create-admin", help="create an administrator (password from LIANDONG_ADMIN_PASSWORD "
                                             "or asked for)")
    a.add_argument("username")
    a.add_argument("--name", default="系统管理员")
    s = sub.add_parser("seed-demo", help="create the demo street unless one exists")
    s.add_argument("--force", action="store_true", help="allow outside LIANDONG_ENV=dev")
    d = sub.add_parser("demo", help="play the district platform against a running system (see `make run`)")
    d.add_argument("--api", default=None, help="the api's base URL (default: from LIANDONG_API_HOST/PORT)")
    d.add_argument("--seconds-per-minute", type=float, default=1.0,
                   help="how long one minute of the policy lasts in the demo (default 1 s)")
    d.add_argument("--force", action="store_true",
                   help="allow outside LIANDONG_ENV=dev (it edits the live acceptance policy for a minute)")
    args = parser.parse_args(argv)

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    if args.command == "demo":  # talks to a running system over HTTP; needs no database of its own
        from services.walkthrough import Walkthrough

        if settings.env != "dev" and not args.force:
            print("the demo compresses the live acceptance policy; use LIANDONG_ENV=dev or --force", file=sys.stderr)
            return 2

        base = args.api or f"http://{settings.api_host}:{settings.api_port}"
        return Walkthrough(base, settings.district_secret, seconds_per_minute=args.seconds_per_minute).run()
    settings = resolve_database_url(settings)
    if args.command == "api":
        _serve_api(settings)
    elif args.command in ("escalator", "notifier"):
        import uvloop

        module = __import__(f"services.{args.command}.main", fromlist=["main"])
        uvloop.run(module.main(settings))
    elif args.command == "run":
        return _run_all(settings)
    elif args.command == "migrate":
        migrate(settings, args.revision)
    elif args.command == "create-admin":
        password = os.environ.get("LIANDONG_ADMIN_PASSWORD") or getpass.getpass("password: ")
        if len(password) < 8:
            print("the password needs at least 8 characters", file=sys.stderr)
            return 2
        try:
            asyncio.run(_create_admin(settings, args.username, args.name, password))
        except AppError as exc:
            print(exc.message, file=sys.stderr)
            return 1
        print(f"administrator {args.username!r} created")
    elif args.command == "seed-demo":
        if settings.env != "dev" and not args.force:
            print("seed-demo creates well-known passwords; use LIANDONG_ENV=dev or --force", file=sys.stderr)
            return 2
        print("seeded" if asyncio.run(_seed(settings)) else "a street exists already; nothing seeded")
    return 0


if __name__ == "__main__":
    sys.exit(main())
