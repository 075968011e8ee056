"""Who is calling: the authenticated user as the database sees them now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from application.errors import Forbidden, InsufficientScope, ReauthenticationRequired
from domain.clients import ClientId, Scope, effective_scopes
from domain.sessions import SessionId
from domain.users import User, UserId


class AuthMethod(StrEnum):
    """How the principal proved who it is."""

    BEARER = "bearer"
    API_KEY = "api_key"
    CLIENT = "client"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated, active user and the credential it used.

    `api_key_id` names the key for API-key principals; `session_id` the login session a
    bearer token was issued for and `auth_time` when that login proved a credential (both
    None for tokens of an external identity provider).
    """

    user: User
    method: AuthMethod = AuthMethod.BEARER
    api_key_id: UUID | None = None
    session_id: SessionId | None = None
    auth_time: datetime | None = None

    def ensure_bearer(self) -> None:
        """Raise `Forbidden` for API keys: credentials are managed with a login's token only.

        A leaked key must not be able to mint more keys or change the owner's password.
        """
        if self.method is not AuthMethod.BEARER:
            raise Forbidden("Credentials can only be managed with a bearer token, not an API key.")

    def ensure_recent_login(self, max_age: timedelta, now: datetime) -> None:
        """Raise `ReauthenticationRequired` unless a credential was proved within `max_age`.

        Step-up for destructive operations (RFC 9470): a stolen, refreshed token is not enough.
        """
        if self.auth_time is None or now - self.auth_time > max_age:
            raise ReauthenticationRequired(
                "This operation needs a recent login: sign in again, then retry.",
                max_age=int(max_age.total_seconds()),
            )

    def ensure_admin(self) -> None:
        """Raise `Forbidden` unless the principal is an admin right now."""
        if not self.user.is_admin:
            raise Forbidden("This operation needs the admin role.")


@dataclass(frozen=True, slots=True)
class ClientPrincipal:
    """A client calling on its own behalf with a client-credentials token: no account, only
    the scopes its token was granted (the client itself is checked to exist at each request)."""

    client_id: ClientId
    scopes: frozenset[Scope]
    method: AuthMethod = AuthMethod.CLIENT

    def ensure_scope(self, scope: Scope) -> None:
        """Raise `InsufficientScope` unless the token holds `scope` (or a scope implying it)."""
        if scope not in effective_scopes(self.scopes):
            raise InsufficientScope(
                f"This operation needs the {scope.value} scope.", scope=scope.value
            )


AnyPrincipal = Principal | ClientPrincipal
"""Whoever may call an operation that clients may call too."""


def refuse_clients(principal: AnyPrincipal) -> Principal:
    """The user principal; a client's token gets `InsufficientScope`: clients never act as a user
    nor reach an operation no scope opens."""
    if isinstance(principal, ClientPrincipal):
        raise InsufficientScope("A client's token cannot call this operation.")
    return principal


def ensure_can_read_users(principal: AnyPrincipal) -> None:
    """An admin, or a client holding `users:read`."""
    if isinstance(principal, ClientPrincipal):
        principal.ensure_scope(Scope.USERS_READ)
    else:
        principal.ensure_admin()


def ensure_can_write_users(principal: AnyPrincipal) -> None:
    """An admin, or a client holding `users:write`."""
    if isinstance(principal, ClientPrincipal):
        principal.ensure_scope(Scope.USERS_WRITE)
    else:
        principal.ensure_admin()


def actor_of(principal: AnyPrincipal) -> UserId | ClientId:
    """Who an audit event names as the actor: the account, or the client."""
    if isinstance(principal, ClientPrincipal):
        return principal.client_id
    return principal.user.id
