"""The audit log: what happened to whom, by whom, recorded with the change itself."""

from domain.audit.events import (
    MAX_USER_AGENT_LENGTH,
    ActorId,
    AuditDetails,
    AuditEvent,
    AuditEventId,
    AuditEventType,
    JsonValue,
    without_personal_data,
)

__all__ = [
    "MAX_USER_AGENT_LENGTH",
    "ActorId",
    "AuditDetails",
    "AuditEvent",
    "AuditEventId",
    "AuditEventType",
    "JsonValue",
    "without_personal_data",
]
