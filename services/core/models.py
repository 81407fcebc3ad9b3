"""Every table, imported once so Alembic and the tests see the whole schema."""

from services.core.active.models import ActiveCase
from services.core.assessment.models import AssessmentQuarter, ConductFinding, MonthlyPay
from services.core.audit import recorder as _audit_recorder  # noqa: F401  (flush events)
from services.core.audit.models import AuditEntry
from services.core.cases.models import CaseEvent, DistrictEvent, PassiveCase
from services.core.categories.models import Category
from services.core.db import Base
from services.core.files.models import Attachment
from services.core.org.models import Community, Grid, LoginFailure, OperatorCommunity, Person, PersonRole, Street
from services.core.outbox.duty_models import DutyRun
from services.core.outbox.models import DeliveryAttempt, OutboxMessage, SenderPause, SendLog
from services.core.records.models import Inspection, InspectionProblem, Record, RecordRevision
from services.core.timers.models import CaseTimer, EscalationPolicy, OperatorTask, Reminder

metadata = Base.metadata

__all__ = [
           "ActiveCase",
           "AssessmentQuarter",
           "Attachment",
           "AuditEntry",
           "CaseEvent",
           "CaseTimer",
           "Category",
           "Community",
           "ConductFinding",
           "DeliveryAttempt",
           "DistrictEvent",
           "DutyRun",
           "EscalationPolicy",
           "Grid",
           "Inspection",
           "InspectionProblem",
           "LoginFailure",
           "MonthlyPay",
           "OperatorCommunity",
           "OperatorTask",
           "OutboxMessage",
           "PassiveCase",
           "Person",
           "PersonRole",
           "Record",
           "RecordRevision",
           "Reminder",
           "SendLog",
           "SenderPause",
           "Street",
           "metadata",
]
