"""Recording every write a person makes: SQLAlchemy flush events write the audit rows in the same
transaction as the change (so a rolled-back request leaves no entry, and a committed one always has
its entry). Who is asking comes from a context variable the api sets when it knows the principal.

Writes the system makes on its own (the webhook's single statement, the escalator, the notifier)
have their own trails (case events, reminders, delivery attempts, duty runs) and are not repeated here.
"""

from __future__ import annotations

import json
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from services.core.audit.models import AuditEntry

SKIP_TABLES = frozenset({"audit_log", "login_failure", "send_log"})
SECRET_COLUMNS = frozenset({"password_hash"})


@dataclass(frozen=True)
class Actor:
    person_id: int
    request: str
    at: datetime


current_actor: ContextVar[Actor | None] = ContextVar("liandong_audit_actor", default=None)


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


def _columns(obj: Any) -> dict[str, Any]:
    state = inspect(obj)
    return {a.key: ("***" if a.key in SECRET_COLUMNS else getattr(obj, a.key))
            for a in state.mapper.column_attrs}


def _changes(obj: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    state = inspect(obj)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for attr in state.mapper.column_attrs:
        history = state.attrs[attr.key].history
        if history.has_changes():
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            masked = attr.key in SECRET_COLUMNS
            before[attr.key], after[attr.key] = ("***", "***") if masked else (old, new)
    return before, after


def _identity(obj: Any) -> str | None:
    key = inspect(obj).mapper.primary_key_from_instance(obj)  # assigned by the INSERT, before the key is
    return None if any(k is None for k in key) else ",".join(str(k) for k in key)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, flush_context: UOWTransaction) -> None:
    actor = current_actor.get()
    if actor is None:
        return
    rows: list[dict[str, Any]] = []
    for action, objects in (("insert", session.new), ("update", session.dirty), ("delete", session.deleted)):
        for obj in objects:
            table = getattr(obj, "__tablename__", None)
            if table is None or table in SKIP_TABLES:
                continue
            before: dict[str, Any] | None
            after: dict[str, Any] | None
            if action == "update":
                before, after = _changes(obj)
                if not after:
                    continue
            elif action == "insert":
                before, after = None, _columns(obj)
            else:
                before, after = _columns(obj), None
            rows.append({"at": actor.at, "actor_id": actor.person_id, "request": actor.request[:200],
                         "entity": table, "entity_id": _identity(obj), "action": action,
                         "before": _plain(before), "after": _plain(after)})
    rows += session.info.pop("audit_pending", [])
    if rows:
        session.connection().execute(insert(AuditEntry), rows)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    pending = session.info.pop("audit_pending", [])
    if pending:
        session.connection().execute(insert(AuditEntry), pending)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop("audit_pending", None)


@event.listens_for(Session, "do_orm_execute")
def _bulk(state: ORMExecuteState) -> None:
    """INSERT/UPDATE/DELETE statements run without loading objects: the statement and its parameters."""
    actor = current_actor.get()
    if actor is None or not (state.is_update or state.is_delete or state.is_insert):
        return
    table = getattr(state.statement, "table", None)
    name = getattr(table, "name", "?")
    if name in SKIP_TABLES:
        return
    raw = state.parameters
    params: Any = dict(raw) if isinstance(raw, dict) else [dict(r) for r in list(raw or [])[:20]
                                                           if isinstance(r, dict)]
    # Queued, not executed here: running a statement inside another's execution breaks the ORM's own
    # bookkeeping; the next flush or the commit writes it, in the same transaction.
    state.session.info.setdefault("audit_pending", []).append({
        "at": actor.at, "actor_id": actor.person_id, "request": actor.request[:200], "entity": name,
        "entity_id": None, "before": None,
        "action": "bulk_update" if state.is_update else "bulk_delete" if state.is_delete else "bulk_insert",
        "after": _plain({"statement": _sql(state), "parameters": params})})


def _sql(state: ORMExecuteState) -> str | None:
    """The UPDATE/DELETE's SQL (its WHERE says which rows); an ORM INSERT cannot be compiled outside its
    own execution, and its rows are in the parameters anyway."""
    if state.is_insert:
        return None
    try:
        return str(state.statement)[:1000]
    except Exception:  # a statement that only compiles within its execution: the parameters will do
        return None
