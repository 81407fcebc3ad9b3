"""Reminders of a case (提醒登记), its planned timers, and the operator's to-do list of calls."""

from __future__ import annotations

from fastapi import APIRouter, status

from services.api.deps import ClockDep, PrincipalDep, SessionDep
from services.api.schemas import AttemptOut, Id, NotificationOut, ReminderIn, ReminderOut, TaskOut, TimerOut
from services.core.outbox import service as outbox
from services.core.timers import service

router = APIRouter(prefix="/api/v1", tags=["reminders"])


@router.get("/cases/{case_id}/reminders", response_model=list[ReminderOut])
async def list_reminders(case_id: Id, session: SessionDep, principal: PrincipalDep) -> list[ReminderOut]:
    return [ReminderOut.model_validate(r) for r in await service.case_reminders(session, principal, case_id)]


@router.post("/cases/{case_id}/reminders", response_model=ReminderOut, status_code=status.HTTP_201_CREATED,
             summary="Log a manual phone reminder (optionally closing a to-do task)")
async def log_reminder(case_id: Id, body: ReminderIn, session: SessionDep, principal: PrincipalDep,
                       clock: ClockDep) -> ReminderOut:
    reminder = await service.log_manual_reminder(
        session, principal, case_id, called_person_id=body.called_person_id, called_name=body.called_name,
        outcome=body.outcome, note=body.note, task_id=body.task_id, now=clock.now())
    return ReminderOut.model_validate(reminder)


@router.get("/cases/{case_id}/timers", response_model=list[TimerOut], summary="The case's reminder nodes")
async def list_timers(case_id: Id, session: SessionDep, principal: PrincipalDep) -> list[TimerOut]:
    return [TimerOut.model_validate(t) for t in await service.case_timers(session, principal, case_id)]


@router.get("/tasks", response_model=list[TaskOut], summary="My calls to make (operators' to-do list)")
async def my_tasks(session: SessionDep, principal: PrincipalDep) -> list[TaskOut]:
    return [TaskOut.model_validate(t) for t in await service.my_tasks(session, principal)]


@router.get("/cases/{case_id}/notifications", response_model=list[NotificationOut],
            summary="Messages sent for a case (WeCom, SMS, voice) with every delivery attempt")
async def list_notifications(case_id: Id, session: SessionDep, principal: PrincipalDep) -> list[NotificationOut]:
    out = []
    for message, attempts in await outbox.case_notifications(session, principal, case_id):
        item = NotificationOut.model_validate(message)
        item.tries = [AttemptOut.model_validate(a) for a in attempts]
        out.append(item)
    return out


@router.post("/notifications/{outbox_id}/retry", response_model=NotificationOut,
             summary="Send a dead letter again (after fixing its cause)")
async def retry_notification(outbox_id: Id, session: SessionDep, principal: PrincipalDep,
                             clock: ClockDep) -> NotificationOut:
    return NotificationOut.model_validate(
        await outbox.retry_dead_letter(session, principal, outbox_id, now=clock.now()))
