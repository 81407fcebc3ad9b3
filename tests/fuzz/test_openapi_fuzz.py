"""Property-based fuzzing of every operation in the app's own OpenAPI schema (schemathesis).

Hypothesis generates each operation's parameters and bodies, valid and invalid, from the schema;
they are sent as admin, an operator, a grid worker or nobody, with real bearer tokens got at the
login endpoint, to the app running against its own fresh Postgres database (real commits). Checked:
no 5xx, every 4xx in the documented error shape, and responses that conform to the schema.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

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
from services.core.demo import DEMO_PASSWORD
from tests.conftest import DISTRICT_SECRET, migrate_and_seed, test_settings
from tests.helpers import event
from tests.integration.test_active_cases import JPEG

# `make test`: 10 examples per operation (about 20 s); `make fuzz`: FUZZ_EXAMPLES=300 within FUZZ_SECONDS=540
# (operations not reached by then are skipped, and say so).
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
BUDGET_SECONDS = float(os.environ.get("FUZZ_SECONDS", "0")) or None
IDENTITIES = ("admin", "operator1", "c1_grid1", None)  # None: no token at all
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
class World:
    app: Any
    tokens: dict[str, str]
    ids: dict[str, list[Any]] = field(default_factory=dict)
    protected: dict[str, tuple[set[int], int]] = field(default_factory=dict)


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
        cases = []
        for code in ("BJZL-01", "BJZL-01", None):
            r = _send_signed(client, json.dumps(event(**({"community_code": code} if code else {}))).encode())
            assert r.status_code == 201, r.text
            cases.append(r.json()["case_id"])
        active = client.post("/api/v1/active-cases", headers=auth["c1_grid1"], data={
            "category_code": "C0102", "description": "路灯不亮"},
            files=[("photos_before", ("a.jpg", JPEG, "image/jpeg"))])
        assert active.status_code == 201, active.text
        communities = {c["code"]: c["id"] for c in client.get("/api/v1/communities", headers=auth["admin"]).json()}
        people = {p["username"]: p["id"] for p in client.get("/api/v1/people", headers=auth["admin"]).json()}
        grids = client.get("/api/v1/grids", headers=auth["admin"]).json()
        record = client.post("/api/v1/records", headers=auth["c1_grid1"], json={
            "kind": "patrol", "occurred_on": "2026-11-02", "title": "巡查", "details": {"members": ["张三"]},
            "community_id": communities["BJZL-01"]})
        assert record.status_code == 201, record.text
        inspection = client.post("/api/v1/inspections", headers=auth["operator1"], json={
            "community_id": communities["BJZL-01"], "inspected_on": "2026-11-10", "summary": "督查", "problems": [
                {"category_code": "C0101", "description": "井盖", "owner_id": people["c1_grid1"],
                 "deadline_on": "2026-11-20"}]})
        assert inspection.status_code == 201, inspection.text
        outbox = [n["id"] for c in cases
                  for n in client.get(f"/api/v1/cases/{c}/notifications", headers=auth["admin"]).json()]
        categories = [c["id"] for c in client.get("/api/v1/categories", headers=auth["admin"]).json()]
        mine = {people[who] for who in tokens}
        w.ids = {
            "/cases/": cases, "/active-cases/": [active.json()["id"]],
            "attachment_id": [p["id"] for p in active.json()["photos"]], "record_id": [record.json()["id"]],
            "problem_id": [p["id"] for p in inspection.json()["problems"]], "outbox_id": outbox or [1],
            "community_id": list(communities.values()), "grid_id": [g["id"] for g in grids],
            "person_id": list(people.values()), "operator_id": [people["operator1"], people["operator2"]],
            "category_id": categories, "kind": ["acceptance", "handling"], "month": ["2026-12", "2026-11"],
            "date": ["2026-12-04", "2026-11-30"],
            "quarter": ["2026-Q4", "2026-Q3"],
        }
        # Writes never touch the fuzzing identities themselves (their roles, password, active flag, links)
        # nor the community and grid they work in: those go to a third community's people instead.
        w.protected = {
            "person_id": (mine, people["c3_grid2"]), "operator_id": (mine, people["operator2"]),
            "community_id": ({communities["BJZL-01"]}, communities["BJZL-03"]),
            "grid_id": ({g["id"] for g in grids if g["grid_worker_id"] == people["c1_grid1"]},
                        next(g["id"] for g in grids if g["grid_worker_id"] == people["c3_grid2"])),
        }
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
    who = data.draw(st.sampled_from(IDENTITIES), label="as")
    path = case.operation.path
    for name in list(case.path_parameters or {}):
        real = _real_id(world, path, name)
        if real and data.draw(st.booleans(), label=f"real {name}"):
            case.path_parameters[name] = data.draw(st.sampled_from(real), label=name)
        if case.method != "GET" and name in world.protected:
            protected, instead = world.protected[name]
            if case.path_parameters[name] in protected:
                case.path_parameters[name] = instead
    for name in [n for n in (case.query or {}) if n in ("date", "month", "quarter", "community_id")]:
        if data.draw(st.booleans(), label=f"real {name}"):
            case.query[name] = data.draw(st.sampled_from(world.ids[name]), label=name)
    if path == "/api/v1/auth/token" and isinstance(case.body, dict) and data.draw(st.booleans(), label="login"):
        case.body = {**case.body, "username": "c2_handler", "password": DEMO_PASSWORD}
    headers = {"Authorization": f"Bearer {world.tokens[who]}"} if who else {}
    kwargs: dict[str, Any] = {}
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
