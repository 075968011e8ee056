"""Audit events: immutable records of a change, its actor, its subject and its request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NewType, TypeAlias
from uuid import UUID

from domain.clients import ClientId
from domain.errors import InvalidValue
from domain.users import UserId

AuditEventId = NewType("AuditEventId", UUID)

ActorId: TypeAlias = "UserId | ClientId"
"""Who made a request: an account, or a client acting on its own behalf."""

JsonValue: TypeAlias = "str | int | float | bool | list[JsonValue] | dict[str, JsonValue] | None"
AuditDetails: TypeAlias = Mapping[str, JsonValue]

MAX_USER_AGENT_LENGTH = 512
MAX_REQUEST_ID_LENGTH = 128
MAX_CLIENT_IP_LENGTH = 64


PERSONAL_DETAIL_KEYS = frozenset({"email", "full_name", "old_email", "new_email"})
"""Keys of `details` (at any depth) that hold an account's email or name."""


def without_personal_data(details: JsonValue) -> JsonValue:
    """`details` with every email and name removed, at any depth: what a deleted account's
    events keep."""
    if isinstance(details, dict):
        return {
            key: without_personal_data(value)
            for key, value in details.items()
            if key not in PERSONAL_DETAIL_KEYS
        }
    if isinstance(details, list):
        return [without_personal_data(item) for item in details]
    return details


class AuditEventType(StrEnum):
    """Every kind of event the service records; the value is what clients filter by."""

    USER_REGISTERED = "user.registered"
    USER_CREATED = "user.created"
    USER_LOGIN_SUCCEEDED = "user.login_succeeded"
    USER_LOGIN_FAILED = "user.login_failed"
    USER_EMAIL_VERIFIED = "user.email_verified"
    USER_EMAIL_CHANGED = "user.email_changed"
    USER_PASSWORD_CHANGED = "user.password_changed"  # noqa: S105 - an event's name, not a secret
    USER_PASSWORD_RESET_REQUESTED = "user.password_reset_requested"  # noqa: S105 - an event's name, not a secret
    USER_PASSWORD_RESET = "user.password_reset"  # noqa: S105 - an event's name, not a secret
    USER_UPDATED = "user.updated"
    USER_DELETED = "user.deleted"
    SESSION_ENDED = "session.ended"
    SESSION_REUSE_DETECTED = "session.reuse_detected"
    API_KEY_CREATED = "api_key.created"
    API_KEY_DELETED = "api_key.deleted"
    MFA_ENABLED = "mfa.enabled"
    MFA_DISABLED = "mfa.disabled"
    MFA_RECOVERY_CODES_REGENERATED = "mfa.recovery_codes_regenerated"
    CLIENT_CREATED = "client.created"
    CLIENT_DELETED = "client.deleted"
    SIGNING_KEY_ROTATED = "signing_key.rotated"


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One recorded change; nothing about it changes once written.

    `actor_id` made the request: an account or a client (None when anonymous or automatic);
    `subject_id` is the account
    the event is about. `details` is JSON and never holds a password, token, key or code.
    """

    id: AuditEventId
    occurred_at: datetime
    type: AuditEventType
    actor_id: ActorId | None = None
    subject_id: UserId | None = None
    client_ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None
    details: AuditDetails = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.occurred_at.utcoffset() != timedelta(0):
            raise InvalidValue("An audit event's time must be aware and in UTC.")
        if self.client_ip is not None and len(self.client_ip) > MAX_CLIENT_IP_LENGTH:
            raise InvalidValue("A client address is at most 64 characters.")
        if self.user_agent is not None and len(self.user_agent) > MAX_USER_AGENT_LENGTH:
            raise InvalidValue("A recorded user agent is at most 512 characters.")
        if self.request_id is not None and len(self.request_id) > MAX_REQUEST_ID_LENGTH:
            raise InvalidValue("A request id is at most 128 characters.")
