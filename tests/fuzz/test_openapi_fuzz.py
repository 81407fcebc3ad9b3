"""Property-based fuzzing of every operation in the app's own OpenAPI schema (schemathesis).

Hypothesis generates each operation's parameters and bodies, valid and invalid, from the schema;
they are sent as admin, an operator, a grid worker, a community's handler and director, the department
supervisor or nobody, with real bearer tokens got at the login endpoint, to the app running against its
own fresh Postgres database (real commits). Checked: no 5xx, every 4xx in the documented error shape,
and responses that conform to the schema.

Some of the time an operation is sent as a recipe instead: by someone whose role allows it, at rows the
setup put in the state it needs (a case waiting for 接单, a computed draft quarter, a dead notification),
with a body it accepts; so the moves deep in the workflows answer 2xx too, not only 403, 404 and 409.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core import NotSet
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from services.api.app import create_app
from services.core.cases.district_contract import sign
from services.core.cases.rules import COMMUNITY_ACTORS, MOVES, CaseAction, CaseStatus
from services.core.db import plain_url
from services.core.demo import DEMO_PASSWORD
from tests.conftest import DISTRICT_SECRET, migrate_and_seed, test_settings
from tests.helpers import event
from tests.integration.test_active_cases import JPEG

# `make test`: 10 examples per operation (about 20 s); `make fuzz`: FUZZ_EXAMPLES=300 within FUZZ_SECONDS=540
# (operations not reached by then are skipped, and say so).
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
BUDGET_SECONDS = float(os.environ.get("FUZZ_SECONDS", "0")) or None
# None: no token at all. c1_* work in BJZL-01 (operator1 is linked to it); supervisor is 部门主管 and 部门负责人.
IDENTITIES = ("admin", "operator1", "c1_grid1", "c1_handler", "c1_director", "supervisor", None)
WEBHOOK = "/api/v1/district/events"
# positive_data_acceptance: replaced by schema_valid_not_refused (below). negative_data_rejection: pydantic's lax
# parsing takes a few schema-invalid values on purpose (a unix timestamp such as "0.0" for a date or a time);
# that leniency is accepted, not a failure.
EXCLUDED_CHECKS = [positive_data_acceptance, negative_data_rejection]

schema = schemathesis.openapi.from_dict(
    create_app(test_settings("postgresql://fuzz@127.0.0.1/unused")).openapi(),
    config=schemathesis.Config.from_dict({
        "generation": {"mode": "all", "deterministic": True, "database": "none"},
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
    }),
)


# Responses seen per operation ("GET /api/v1/me" → status → count), for the summary and the coverage test.
SEEN: dict[str, Counter[int]] = defaultdict(Counter)
STARTED = time.monotonic()


@schemathesis.check
def error_shape(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx and 5xx is ``{"error": {"code", "message", "fields"?}}`` with a stable code."""
    SEEN[case.operation.label][response.status_code] += 1
    if response.status_code < 400:
        return None
    try:
        body = json.loads(response.content)
    except ValueError as exc:
        raise AssertionError(f"{response.status_code} body is not JSON: {response.content[:200]!r}") from exc
    assert isinstance(body, dict) and set(body) == {"error"}, f"not the error shape: {body}"
    err = body["error"]
    assert isinstance(err, dict), f"error is not an object: {body}"
    assert isinstance(err.get("code"), str) and err["code"], f"no code: {body}"
    assert isinstance(err.get("message"), str) and err["message"], f"no message: {body}"
    fields = err.get("fields")
    if fields is not None:
        assert isinstance(fields, list) and all(
            isinstance(f, dict) and isinstance(f.get("field"), str) and isinstance(f.get("message"), str)
            for f in fields), f"fields malformed: {body}"
    return None


@schemathesis.check
def schema_valid_not_refused(ctx: Any, response: Any, case: Any) -> bool | None:
    """A request the schema calls valid is not refused by the app's own request validation.

    Schemathesis's ``positive_data_acceptance`` refuses every 422 for such a request; here a 422
    ``invalid_input`` is fine (a rule no schema can state: an unknown code, a month that is not one),
    while ``validation_error`` means the documented schema and the validation disagree."""
    if case.meta is None or case.meta.generation.mode != GenerationMode.POSITIVE or response.status_code != 422:
        return None
    if (case.media_type or "").startswith("multipart/"):
        return None  # schemathesis sends OpenAPI 3.1 file fields as plain text parts, which are rightly refused
    error = json.loads(response.content)["error"]
    if all("NUL" in f["message"] for f in error.get("fields") or [{"message": ""}]):
        return None  # text Postgres cannot store (NUL, lone surrogates): a rule no JSON Schema states
    assert error["code"] != "validation_error", f"a schema-valid request was refused: {response.content[:500]!r}"
    return None


@dataclass
class Recipe:
    """A request an operation accepts: by whom, at which real ids, with which body (or multipart parts)."""

    who: tuple[str | None, ...]
    ids: dict[str, list[Any]] = field(default_factory=dict)
    body: Callable[[dict[str, Any]], Any] | None = None  # given the path parameters
    parts: Callable[[], dict[str, Any]] | None = None


@dataclass
class World:
    app: Any
    tokens: dict[str, str]
    ids: dict[str, list[Any]] = field(default_factory=dict)
    protected: dict[str, tuple[set[int], int]] = field(default_factory=dict)
    recipes: dict[str, Recipe] = field(default_factory=dict)


# Rows put in each state the recipes need; each request that succeeds uses one up (a case moves on).
PER_STATE = 3
# How a case reaches each status from `dispatched` (the webhook auto-dispatches to its community).
PATHS: dict[CaseStatus, tuple[str, ...]] = {
    CaseStatus.accepted: ("accept",), CaseStatus.in_progress: ("accept", "start"),
    CaseStatus.extension_requested: ("accept", "start", "request-extension"),
    CaseStatus.returned: ("return",), CaseStatus.handled: ("accept", "handle"),
    CaseStatus.replied: ("accept", "handle", "reply"), CaseStatus.closed: ("accept", "handle", "reply", "close"),
    CaseStatus.reopened: ("accept", "handle", "reopen"),
}
COMMUNITY_SIDE = ("c1_handler", "c1_director")
STREET_SIDE = ("supervisor", "operator1")
_serial = itertools.count(1)


def _move_bodies(community_id: int) -> dict[str, dict[str, Any]]:
    return {"dispatch": {"community_id": community_id}, "redispatch": {"community_id": community_id},
            "request-extension": {"requested_deadline_at": "2027-03-31T18:00:00+08:00", "note": "需协调物业"},
            "return": {"note": "不属于本社区"}, "handle": {"note": "已更换井盖"}, "reply": {"reply_text": "已处置完毕"},
            "reopen": {"note": "群众不满意"}}


def _sql(url: str, sql: str, *args: Any) -> list[Any]:
    async def run() -> list[Any]:
        conn = await asyncpg.connect(plain_url(url))
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    return asyncio.run(run())


@pytest.fixture(scope="module")
def world(new_database: Any) -> Iterator[World]:
    url: str = new_database()
    migrate_and_seed(url)
    app = create_app(test_settings(url))
    with asgi.get_client(app) as client:
        tokens = {}
        for who in IDENTITIES:
            if who is None:
                continue
            r = client.post("/api/v1/auth/token", data={"username": who, "password": DEMO_PASSWORD})
            assert r.status_code == 200, r.text
            tokens[who] = r.json()["access_token"]
        w = World(app, tokens)
        # A few real things, so that real path ids get past 404: cases in and out of a community, an
        # active case with a photo, a record, an inspection problem, a notification.
        auth = {who: {"Authorization": f"Bearer {token}"} for who, token in tokens.items()}

        def ok(r: Any) -> Any:
            assert r.status_code in (200, 201), r.text
            return r.json()

        cases = []
        for code in ("BJZL-01", "BJZL-01", None):
            r = _send_signed(client, json.dumps(event(**({"community_code": code} if code else {}))).encode())
            assert r.status_code == 201, r.text
            cases.append(r.json()["case_id"])
        communities = {c["code"]: c["id"] for c in ok(client.get("/api/v1/communities", headers=auth["admin"]))}
        people = {p["username"]: p["id"] for p in ok(client.get("/api/v1/people", headers=auth["admin"]))}
        grids = ok(client.get("/api/v1/grids", headers=auth["admin"]))

        def report() -> dict[str, Any]:
            return {"data": {"category_code": "C0102", "description": "路灯不亮"},
                    "files": [("photos_before", ("a.jpg", JPEG, "image/jpeg"))]}

        active = ok(client.post("/api/v1/active-cases", headers=auth["c1_grid1"], **report()))
        # Active cases waiting for an audit, and valid ones waiting to be handled.
        pending = [ok(client.post("/api/v1/active-cases", headers=auth["c1_grid1"], **report()))["id"]
                   for _ in range(2 * PER_STATE)]
        valid = pending[PER_STATE:]
        for case_id in valid:
            ok(client.post(f"/api/v1/active-cases/{case_id}/audit", headers=auth["operator1"],
                           json={"result": "valid"}))

        def record_body() -> dict[str, Any]:
            return {"kind": "patrol", "occurred_on": "2026-11-02", "title": f"巡查 {next(_serial)}",
                    "details": {"members": ["张三"]}, "community_id": communities["BJZL-01"]}

        def inspection_body() -> dict[str, Any]:
            return {"community_id": communities["BJZL-01"], "inspected_on": "2026-11-10", "summary": "督查",
                    "problems": [{"category_code": "C0101", "description": f"井盖 {i}", "owner_id": people["c1_grid1"],
                                  "deadline_on": "2026-11-20"} for i in range(PER_STATE)]}

        record = ok(client.post("/api/v1/records", headers=auth["c1_grid1"], json=record_body()))
        inspection = ok(client.post("/api/v1/inspections", headers=auth["operator1"], json=inspection_body()))
        outbox = [n["id"] for c in cases
                  for n in ok(client.get(f"/api/v1/cases/{c}/notifications", headers=auth["admin"]))]
        categories = ok(client.get("/api/v1/categories", headers=auth["admin"]))

        # For each move, PER_STATE cases of its own in a status it starts from (in BJZL-01; received: none).
        bodies = _move_bodies(communities["BJZL-01"])
        by_status: dict[CaseStatus, list[int]] = defaultdict(list)
        pools: dict[CaseAction, list[int]] = defaultdict(list)
        for action in CaseAction:
            if action == CaseAction.recall:
                continue
            for i in range(PER_STATE):
                status = sorted(MOVES[action].sources)[i % len(MOVES[action].sources)]
                code = {} if status == CaseStatus.received else {"community_code": "BJZL-01"}
                r = _send_signed(client, json.dumps(event(**code)).encode())
                assert r.status_code == 201, r.text
                case_id = r.json()["case_id"]
                for move in PATHS.get(status, ()):
                    who = "supervisor" if move in ("reply", "close", "reopen") else "c1_handler"
                    ok(client.post(f"/api/v1/cases/{case_id}/{move}", headers=auth[who], json=bodies.get(move)))
                by_status[status].append(case_id)
                pools[action].append(case_id)
        # Notifications that failed for good, to retry: the district's copies of the moves above.
        dead = [r["id"] for r in _sql(url, "UPDATE outbox SET state = 'dead', attempts = 5, last_error = 'fuzz' "
                                           "WHERE case_id = ANY($1::bigint[]) RETURNING id",
                                      by_status[CaseStatus.in_progress])]
        assert dead, "no notifications to retry"

        # Quarters: drafts computed with a fund (publishable), and published ones (reopenable). The fuzzer's
        # pay, conduct and fund go to 2026-Q4 and 2026-Q3 (world.ids), which leaves these as they are.
        drafts, published = ["2026-Q1", "2026-Q2"], ["2025-Q3", "2025-Q4"]
        for quarter in drafts + published:
            ok(client.put(f"/api/v1/assessments/{quarter}/fund", headers=auth["supervisor"],
                          json={"fund_fen": 3_000_000}))
            ok(client.post(f"/api/v1/assessments/{quarter}/compute", headers=auth["supervisor"]))
        for quarter in published:
            ok(client.post(f"/api/v1/assessments/{quarter}/publish", headers=auth["supervisor"]))
        policy = {p["kind"]: p for p in ok(client.get("/api/v1/policies", headers=auth["admin"]))}

        mine = {people[who] for who in tokens}
        w.ids = {
            "/cases/": cases, "/active-cases/": [active["id"]],
            "attachment_id": [p["id"] for p in active["photos"]], "record_id": [record["id"]],
            "problem_id": [p["id"] for p in inspection["problems"]], "outbox_id": outbox or [1],
            "community_id": list(communities.values()), "grid_id": [g["id"] for g in grids],
            "person_id": list(people.values()), "operator_id": [people["operator1"], people["operator2"]],
            "category_id": [c["id"] for c in categories], "kind": ["acceptance", "handling"],
            "month": ["2026-12", "2026-11"], "date": ["2026-12-04", "2026-11-30"],
            "quarter": ["2026-Q4", "2026-Q3"],
        }
        # Writes never touch the fuzzing identities themselves (their roles, password, active flag, links)
        # nor the community and grid they work in, nor the categories the recipes report in: those go to a
        # third community's people, its grid and another category instead.
        used = {c["id"] for c in categories if c["code"] in ("C0101", "C0102")}
        w.protected = {
            "person_id": (mine, people["c3_grid2"]), "operator_id": (mine, people["operator2"]),
            "community_id": ({communities["BJZL-01"]}, communities["BJZL-03"]),
            "grid_id": ({g["id"] for g in grids if g["grid_worker_id"] == people["c1_grid1"]},
                        next(g["id"] for g in grids if g["grid_worker_id"] == people["c3_grid2"])),
            "category_id": (used, next(c["id"] for c in categories if c["id"] not in used)),
        }
        # Recipes: requests each operation accepts, at the rows above, by someone whose role allows them; the
        # people and the community they name are the protected ones, so the fuzzer's writes leave them usable.
        keep = ("key", "label", "channels", "recipients", "offset_seconds", "fraction")
        nodes = {kind: [{k: v for k, v in n.items() if k in keep} for n in p["nodes"]] for kind, p in policy.items()}
        jpeg = ("a.jpg", JPEG, "image/jpeg")
        q34 = {"quarter": ["2026-Q4", "2026-Q3"]}
        compliance = {"community_id": [communities["BJZL-01"]], **q34}
        w.recipes = {f"POST /api/v1/cases/{{case_id}}/{a.value.replace('_', '-')}": Recipe(
            COMMUNITY_SIDE if m.actors & COMMUNITY_ACTORS else STREET_SIDE, {"case_id": pools[a]},
            body=lambda _, b=bodies.get(a.value.replace("_", "-"), {}): b) for a, m in MOVES.items() if a in pools}
        w.recipes.update({
            f"POST {WEBHOOK}": Recipe((None,), body=lambda _: event(community_code="BJZL-01")),
            "PUT /api/v1/policies/{kind}": Recipe(("supervisor", "admin"), {"kind": sorted(nodes)},
                                                  body=lambda params: {"nodes": nodes[params["kind"]]}),
            "POST /api/v1/grids": Recipe(("admin", "supervisor"), body=lambda _: {
                "community_id": communities["BJZL-01"], "code": f"FZ-{next(_serial)}", "name": "新网格"}),
            "POST /api/v1/cases/{case_id}/reminders": Recipe(STREET_SIDE, {"case_id": pools[CaseAction.handle]},
                                                             body=lambda _: {"called_name": "王主任",
                                                                             "outcome": "answered"}),
            "POST /api/v1/notifications/{outbox_id}/retry": Recipe(STREET_SIDE, {"outbox_id": dead}),
            "POST /api/v1/active-cases": Recipe(("c1_grid1",), parts=report),
            "POST /api/v1/active-cases/{case_id}/audit": Recipe(STREET_SIDE, {"case_id": pending[:PER_STATE]},
                                                                body=lambda _: {"result": "valid"}),
            "POST /api/v1/active-cases/{case_id}/handle": Recipe(("c1_grid1", "c1_director", "operator1"),
                                                                 {"case_id": valid}),
            "POST /api/v1/records": Recipe(("c1_grid1", "c1_director"), body=lambda _: record_body()),
            "PATCH /api/v1/records/{record_id}": Recipe(("c1_grid1", "c1_director"), {"record_id": [record["id"]]},
                                                         body=lambda _: {"title": f"巡查（更正 {next(_serial)}）"}),
            "POST /api/v1/records/{record_id}/attachments": Recipe(
                ("c1_grid1", "c1_handler"), {"record_id": [record["id"]]}, parts=lambda: {"files": [("files", jpeg)]}),
            "POST /api/v1/inspection-problems/{problem_id}/follow-up": Recipe(
                ("c1_grid1", "operator1"), {"problem_id": w.ids["problem_id"]}, body=lambda _: {"note": "已整改"}),
            "GET /api/v1/stats/daily": Recipe(("supervisor", "operator1"), {"date": ["2026-12-04"]}),
            "GET /api/v1/stats/daily.xlsx": Recipe(("supervisor", "operator1"), {"date": ["2026-12-04"]}),
            "GET /api/v1/stats/monthly": Recipe(("supervisor", "c1_director"), {"month": ["2026-11"]}),
            "GET /api/v1/stats/monthly.xlsx": Recipe(("supervisor", "c1_director"), {"month": ["2026-11"]}),
            "GET /api/v1/compliance": Recipe(("supervisor", "c1_director"), compliance),
            "GET /api/v1/compliance/dossier.xlsx": Recipe(("supervisor", "c1_director"), compliance),
            "POST /api/v1/inspections": Recipe(("operator1", "supervisor"), body=lambda _: inspection_body()),
            "PUT /api/v1/assessments/pay/{month}": Recipe(("supervisor",), {"month": w.ids["month"]}, body=lambda _: {
                "rows": [{"person_id": people["c1_grid1"], "paid_fen": 180_000, "quality_score": 18}]}),
            "POST /api/v1/assessments/{quarter}/conduct": Recipe(("supervisor",), q34, body=lambda _: {
                "person_id": people["c1_grid1"], "reason": "工作时间脱岗"}),
            "PUT /api/v1/assessments/{quarter}/fund": Recipe(("supervisor",), q34,
                                                             body=lambda _: {"fund_fen": 2_000_000}),
            "POST /api/v1/assessments/{quarter}/compute": Recipe(("supervisor",), q34),
            "POST /api/v1/assessments/{quarter}/publish": Recipe(("supervisor",), {"quarter": drafts}),
            "POST /api/v1/assessments/{quarter}/reopen": Recipe(("supervisor",), {"quarter": published},
                                                                body=lambda _: {"reason": "工资数据更正"}),
            "GET /api/v1/assessments/{quarter}": Recipe(("supervisor", "c1_grid1"), {"quarter": drafts + published}),
            "GET /api/v1/assessments/{quarter}/notice.xlsx": Recipe(("supervisor", "c1_grid1"),
                                                                    {"quarter": drafts + published}),
        })
        yield w
    asgi.shutdown_lifespans()


def _send_signed(client: Any, raw: bytes) -> Any:
    stamp = str(int(time.time()))
    return client.post(WEBHOOK, data=raw, headers={
        "Content-Type": "application/json", "X-Liandong-Timestamp": stamp,
        "X-Liandong-Signature": sign(DISTRICT_SECRET, stamp, raw)})


def _real_id(world: World, path: str, name: str) -> list[Any]:
    if name == "case_id":
        return world.ids["/active-cases/" if path.startswith("/api/v1/active-cases/") else "/cases/"]
    return world.ids.get(name, [])


@schema.parametrize()
@schema.given(data=st.data())
@hypothesis.settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                     suppress_health_check=list(hypothesis.HealthCheck))
def test_api(case: Any, data: st.DataObject, world: World) -> None:
    if BUDGET_SECONDS and time.monotonic() - STARTED > BUDGET_SECONDS:
        pytest.skip(f"FUZZ_SECONDS={BUDGET_SECONDS:.0f} spent")
    path = case.operation.path
    recipe = world.recipes.get(case.operation.label)
    if recipe is not None and not data.draw(st.booleans(), label="recipe"):
        recipe = None
    who = data.draw(st.sampled_from(recipe.who if recipe else IDENTITIES), label="as")
    for name in list(case.path_parameters or {}):
        real = recipe.ids.get(name) if recipe and name in recipe.ids else _real_id(world, path, name)
        if real and (recipe or data.draw(st.booleans(), label=f"real {name}")):
            case.path_parameters[name] = data.draw(st.sampled_from(real), label=name)
        if case.method != "GET" and name in world.protected:
            protected, instead = world.protected[name]
            if case.path_parameters[name] in protected:
                case.path_parameters[name] = instead
    for name in [n for n in (case.query or {}) if n in ("date", "month", "quarter", "community_id")]:
        if recipe and name in recipe.ids:
            case.query[name] = data.draw(st.sampled_from(recipe.ids[name]), label=name)
        elif data.draw(st.booleans(), label=f"real {name}"):
            case.query[name] = data.draw(st.sampled_from(world.ids[name]), label=name)
    if path == "/api/v1/auth/token" and isinstance(case.body, dict) and data.draw(st.booleans(), label="login"):
        case.body = {**case.body, "username": "c2_handler", "password": DEMO_PASSWORD}
    headers = {"Authorization": f"Bearer {world.tokens[who]}"} if who else {}
    kwargs: dict[str, Any] = {}
    if recipe and recipe.body:
        # The recipe's body as it is or with the other generated fields besides: odd values in a valid state.
        generated = case.body if isinstance(case.body, dict) and data.draw(st.booleans(), label="mix") else {}
        body = recipe.body(case.path_parameters or {})
        case.body = {**generated, **body} if isinstance(body, dict) and path != WEBHOOK else body
        case.media_type = "application/json"
    if recipe and recipe.parts:
        kwargs.update(recipe.parts())  # multipart with real files: sent instead of the generated body
    if path == WEBHOOK and data.draw(st.integers(0, 4), label="signed") > 0:
        # The district's signature over the very bytes sent, so the fuzzer reaches the body's validation.
        body = {} if isinstance(case.body, NotSet) else case.body
        raw = json.dumps(body, ensure_ascii=False, default=str).encode()
        stamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", "X-Liandong-Timestamp": stamp,
                   "X-Liandong-Signature": sign(DISTRICT_SECRET, stamp, raw)}
        kwargs["data"] = raw
    case.call_and_validate(app=world.app, headers=headers, additional_checks=[error_shape, schema_valid_not_refused],
                           excluded_checks=EXCLUDED_CHECKS, **kwargs)


def test_every_operation_was_called(capsys: pytest.CaptureFixture[str]) -> None:
    """Every operation of the schema got requests; the figures go to the terminal."""
    if not SEEN:
        pytest.skip("test_api did not run")
    labels = {op.ok().label for op in schema.get_all_operations()}
    if not (BUDGET_SECONDS and time.monotonic() - STARTED > BUDGET_SECONDS):
        assert not labels - set(SEEN), f"never called: {sorted(labels - set(SEEN))}"
    total = sum(sum(c.values()) for c in SEEN.values())
    statuses: Counter[int] = sum(SEEN.values(), Counter())
    reached = sorted(label for label, c in SEEN.items() if any(200 <= s < 300 for s in c))
    lines = [f"fuzz: {total} requests over {len(SEEN)} operations in {time.monotonic() - STARTED:.0f} s "
             f"({EXAMPLES} examples per operation); statuses {dict(sorted(statuses.items()))}",
             f"fuzz: {len(reached)} operations answered 2xx at least once; never: "
             f"{sorted(labels - set(reached)) or 'none'}"]
    with capsys.disabled():
        print("\n" + "\n".join(lines))
