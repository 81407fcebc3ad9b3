"""Run a fake vendor as its own process on 127.0.0.1 (benchmarks, demos): python -m tests.fakes.run NAME PORT."""

from __future__ import annotations

import sys

import uvicorn

from tests.fakes import aliyun, wecom


def main() -> None:
    name, port = sys.argv[1], int(sys.argv[2])
    if name == "aliyun":
        app = aliyun.build_app(aliyun.FakeAliyunState())
    elif name == "wecom":
        app = wecom.build_app(wecom.FakeWecomState())
    else:
        raise SystemExit(f"unknown fake {name!r}")
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
