"""Building audit events from what a use case knows and what the edge says of the request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from application.ports import IdGenerator
from application.request_context import RequestContext
from domain.audit import (
    MAX_USER_AGENT_LENGTH,
    ActorId,
    AuditDetails,
    AuditEvent,
    AuditEventId,
    AuditEventType,
    JsonValue,
)
from domain.users import User, UserId


@dataclass(frozen=True, slots=True)
class AuditEvents:
    """Makes events with fresh time-ordered ids; the use case records them in its unit of work."""

    ids: IdGenerator

    def new(
        self,
        event_type: AuditEventType,
        context: RequestContext,
        now: datetime,
        *,
        actor_id: ActorId | None = None,
        subject_id: UserId | None = None,
        details: AuditDetails | None = None,
    ) -> AuditEvent:
        """An event of `event_type` at `now`, carrying the request's address, agent and id."""
        user_agent = context.user_agent
        return AuditEvent(
            id=AuditEventId(self.ids.new_id()),
            occurred_at=now,
            type=event_type,
            actor_id=actor_id,
            subject_id=subject_id,
            client_ip=context.client_ip,
            user_agent=user_agent[:MAX_USER_AGENT_LENGTH] if user_agent is not None else None,
            request_id=context.request_id,
            details=dict(details or {}),
        )

    def sessions_ended(
        self,
        context: RequestContext,
        now: datetime,
        subject_id: UserId,
        *,
        actor_id: ActorId | None,
        reason: str,
        count: int = 1,
        session_id: UUID | None = None,
    ) -> AuditEvent:
        """`session.ended` for `count` sessions of `subject_id`, or for the one `session_id`."""
        details: dict[str, JsonValue] = {"reason": reason, "count": count}
        if session_id is not None:
            details["session_id"] = str(session_id)
        return self.new(
            AuditEventType.SESSION_ENDED,
            context,
            now,
            actor_id=actor_id,
            subject_id=subject_id,
            details=details,
        )


def profile_of(user: User) -> dict[str, str | bool]:
    """The fields of a user that `user.updated` compares before and after."""
    return {"full_name": user.full_name.value, "role": user.role.value, "is_active": user.is_active}


def changed_fields(
    before: dict[str, str | bool], after: dict[str, str | bool]
) -> dict[str, JsonValue]:
    """`{"before": …, "after": …}` restricted to the fields that changed."""
    names = [name for name in before if before[name] != after[name]]
    old: dict[str, JsonValue] = {name: before[name] for name in names}
    new: dict[str, JsonValue] = {name: after[name] for name in names}
    return {"before": old, "after": new}
