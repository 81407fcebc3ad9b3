"""Pure rules: the move table, acceptance timeout, overdue, scope, settings, signatures."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from pydantic import ValidationError

from services.core.cases import rules
from services.core.cases.district_contract import sign, verify_signature
from services.core.cases.rules import CaseAction, CaseStatus
from services.core.clock import SHANGHAI
from services.core.config import Settings
from services.core.errors import NotAuthenticated
from services.core.org.roles import Role
from services.core.org.scope import Principal

T = datetime(2026, 12, 4, 9, 0, tzinfo=SHANGHAI)


def test_move_table_is_the_lifecycle() -> None:
    m = rules.MOVES
    assert m[CaseAction.dispatch].sources == {CaseStatus.received}
    assert m[CaseAction.accept].target == CaseStatus.accepted
    assert m[CaseAction.close].sources == {CaseStatus.replied}
    assert CaseStatus.closed not in m[CaseAction.recall].sources
    assert all(s not in rules.OPEN for s in (CaseStatus.closed, CaseStatus.recalled))
    # A closed case accepts only a reopen; a recalled case nothing at all.
    assert [a for a in CaseAction if rules.is_allowed_from(a, CaseStatus.closed)] == [CaseAction.reopen]
    assert [a for a in CaseAction if rules.is_allowed_from(a, CaseStatus.recalled)] == []


@pytest.mark.parametrize(("minutes", "late"), [(9.99, False), (10, False), (10.02, True), (25, True)])
def test_acceptance_timeout_after_ten_minutes(minutes: float, late: bool) -> None:
    assert rules.is_acceptance_timeout(T, T + timedelta(minutes=minutes), timedelta(minutes=10)) is late


def test_overdue() -> None:
    deadline = T
    assert rules.is_overdue(deadline, T, T + timedelta(days=1), CaseStatus.handled) is False
    assert rules.is_overdue(deadline, T + timedelta(seconds=1), T, CaseStatus.handled) is True
    assert rules.is_overdue(deadline, None, T, CaseStatus.in_progress) is False
    assert rules.is_overdue(deadline, None, T + timedelta(seconds=1), CaseStatus.in_progress) is True
    assert rules.is_overdue(deadline, None, T + timedelta(days=9), CaseStatus.recalled) is False


def test_principal_scope() -> None:
    op = Principal(1, "op", "op", frozenset({Role.operator}), linked_community_ids=frozenset({1, 2}))
    handler = Principal(2, "h", "h", frozenset({Role.community_handler}),
                        community_roles=frozenset({(Role.community_handler, 3)}))
    grid = Principal(3, "g", "g", frozenset({Role.grid_worker}), community_roles=frozenset({(Role.grid_worker, 3)}))
    leader = Principal(4, "l", "l", frozenset({Role.leader_in_charge}))
    assert op.can_see_case(1, None) and op.can_see_case(None, None) and not op.can_see_case(3, None)
    assert handler.can_see_case(3, None) and not handler.can_see_case(1, None)
    assert not handler.can_see_case(None, None)
    assert not grid.can_see_case(3, None) and grid.can_see_case(3, 3)
    assert leader.can_see_case(7, None)
    assert op.roles_for_community(3) == frozenset()
    assert handler.roles_for_community(3) == {Role.community_handler}
    assert rules.allowed_actions(CaseStatus.dispatched, frozenset(handler.roles_for_community(3))) == [
        CaseAction.accept, CaseAction.return_case]


def test_settings_refuse_placeholder_secrets_outside_dev() -> None:
    with pytest.raises(ValidationError, match="LIANDONG_JWT_SECRET"):
        Settings(env="prod", district_secret="x" * 40)
    with pytest.raises(ValidationError, match="LIANDONG_DISTRICT_SECRET"):
        Settings(env="test", jwt_secret="x" * 40, district_secret="short")
    assert Settings(env="dev").jwt_secret == "change-me"
    assert Settings(env="prod", jwt_secret="x" * 40, district_secret="y" * 40).api_host == "127.0.0.1"


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIANDONG_ENV", "dev")
    monkeypatch.setenv("LIANDONG_API_PORT", "8123")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db")
    s = Settings()
    assert (s.api_port, s.database_url) == (8123, "postgresql://u@h/db")


def test_signature() -> None:
    raw = b'{"a":1}'
    sig = sign("secret", "1764810000", raw)
    assert len(sig) == 64 and sig == sig.lower()
    now = datetime.fromtimestamp(1764810000, tz=SHANGHAI)
    verify_signature("secret", "1764810000", sig, raw, now=now, window_seconds=300)
    with pytest.raises(NotAuthenticated):
        verify_signature("secret", "1764810000", sig.upper()[:-1] + "0", raw, now=now, window_seconds=300)
    with pytest.raises(NotAuthenticated):
        verify_signature("secret", "1764810000", sig, raw, now=now + timedelta(seconds=301), window_seconds=300)


def test_plan_handling_uses_exact_fractions_and_never_plans_the_past() -> None:
    from services.core.timers.rules import HANDLING_DEFAULT, plan_handling

    received = T
    deadline = T + timedelta(hours=3)
    assert plan_handling(HANDLING_DEFAULT, received, deadline, now=T) == [
        ("handle.first_third", T + timedelta(hours=1)), ("handle.second_third", T + timedelta(hours=2)),
        ("handle.deadline", deadline)]
    late = T + timedelta(hours=2, minutes=30)
    assert [due for _, due in plan_handling(HANDLING_DEFAULT, received, deadline, now=late)] == [
        late, late, deadline]


def test_quiet_hours_across_midnight() -> None:
    from datetime import time

    from services.core.timers.rules import ACCEPTANCE_DEFAULT, Channel, QuietHours, channels_at

    quiet = QuietHours(time(22), time(8))
    phone = ACCEPTANCE_DEFAULT.nodes[1]
    at = datetime(2026, 12, 4, 23, 30, tzinfo=SHANGHAI)
    assert channels_at(phone, at, quiet) == (Channel.sms, Channel.operator_task)
    assert channels_at(phone, at.replace(hour=8), quiet) == (Channel.voice, Channel.operator_task)
    assert channels_at(phone, at.replace(hour=7, minute=59), quiet) == (Channel.sms, Channel.operator_task)
