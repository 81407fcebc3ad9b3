"""Run a fake vendor as its own process on 127.0.0.1 (benchmarks, demos, the chaos suite):
python -m tests.fakes.run NAME PORT [--chaos SEED]."""

from __future__ import annotations

import argparse

import uvicorn
from starlette.applications import Starlette

from tests.fakes import aliyun, district, wecom
from tests.fakes.chaos import Chaos


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("name", choices=["aliyun", "wecom", "district"])
    parser.add_argument("port", type=int)
    parser.add_argument("--chaos", type=int, metavar="SEED",
                        help="fail, throttle, slow down and lose answers at random")
    parser.add_argument("--secret", help="the district's signing secret (district only)")
    args = parser.parse_args()
    chaos = Chaos(args.chaos) if args.chaos is not None else None
    app: Starlette
    if args.name == "aliyun":
        app = aliyun.build_app(aliyun.FakeAliyunState(chaos=chaos))
    elif args.name == "district":
        state = district.FakeDistrictState(chaos=chaos)
        if args.secret:
            state.secret = args.secret
        app = district.build_app(state)
    else:
        app = wecom.build_app(wecom.FakeWecomState())
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
