"""RFC 7662 token introspection: is this token usable right now, and whose is it?"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from application.errors import InvalidToken
from application.ports import (
    ClientTokens,
    Clock,
    PrincipalReader,
    TokenVerifier,
    UnitOfWorkFactory,
)
from application.sessions import MAX_REFRESH_TOKEN_LENGTH
from domain.clients import ClientId, Scope
from domain.credentials import ParsedApiKey, SecretDigest
from domain.sessions import SessionId
from domain.users import User


class IntrospectedType(StrEnum):
    """What kind of credential was introspected (also the `token_type_hint` vocabulary)."""

    ACCESS_TOKEN = "access_token"  # noqa: S105 - RFC 7662 vocabulary, not a secret
    REFRESH_TOKEN = "refresh_token"  # noqa: S105 - RFC 7662 vocabulary, not a secret
    API_KEY = "api_key"


@dataclass(frozen=True, slots=True)
class IntrospectTokenCommand:
    token: str = field(repr=False)
    hint: IntrospectedType | None = None


@dataclass(frozen=True, slots=True)
class Introspection:
    """An active token's facts; `INACTIVE` for anything not usable now."""

    active: bool
    token_type: IntrospectedType | None = None
    subject: str | None = None
    client_id: ClientId | None = None
    scopes: frozenset[Scope] | None = None
    issued_at: datetime | None = None
    expires_at: datetime | None = None
    username: str | None = None
    issuer: str | None = None
    audience: str | None = None


INACTIVE = Introspection(active=False)


class IntrospectToken:
    """Say whether an access token (a user's or a client's), a refresh token or an API key is
    usable now, reading the current state: a revoked token, an ended session, a deleted key or
    client, a deactivated or deleted account make it inactive at once.

    The hint only decides which kind is looked up first; every kind is tried (RFC 7662 §2.1).
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        reader: PrincipalReader,
        verifier: TokenVerifier,
        client_tokens: ClientTokens,
        clock: Clock,
        *,
        issuer: str,
        audience: str,
    ) -> None:
        """`issuer` and `audience` are what this service's tokens carry (`iss`, `aud`)."""
        self._uow = uow
        self._reader = reader
        self._verifier = verifier
        self._client_tokens = client_tokens
        self._clock = clock
        self._issuer = issuer
        self._audience = audience

    async def execute(self, command: IntrospectTokenCommand) -> Introspection:
        token = command.token
        if not token or len(token) > 8 * MAX_REFRESH_TOKEN_LENGTH:
            return INACTIVE
        lookups: dict[IntrospectedType, Callable[[str], Awaitable[Introspection | None]]] = {
            IntrospectedType.ACCESS_TOKEN: self._access_token,
            IntrospectedType.REFRESH_TOKEN: self._refresh_token,
            IntrospectedType.API_KEY: self._api_key,
        }
        order = list(lookups)
        if command.hint is not None:
            order.remove(command.hint)
            order.insert(0, command.hint)
        for kind in order:
            found = await lookups[kind](token)
            if found is not None:
                if not found.active:
                    return INACTIVE
                return replace(found, issuer=self._issuer, audience=self._audience)
        return INACTIVE

    async def _access_token(self, token: str) -> Introspection | None:
        if self._client_tokens.is_client_token(token):
            return await self._client_access_token(token)
        try:
            claims = self._verifier.verify_access_token(token)
        except InvalidToken:
            return None
        session_id = SessionId(claims.session_id) if claims.session_id is not None else None
        user, session_open = await self._reader.user_with_open_session(claims.subject, session_id)
        if not _usable(user):
            return INACTIVE
        if session_id is not None and not session_open:
            return INACTIVE
        return Introspection(
            active=True,
            token_type=IntrospectedType.ACCESS_TOKEN,
            subject=str(claims.subject),
            issued_at=claims.issued_at,
            expires_at=claims.expires_at,
            username=user.email.value if user is not None else None,
        )

    async def _client_access_token(self, token: str) -> Introspection | None:
        try:
            claims = self._client_tokens.verify_client_token(token)
        except InvalidToken:
            return None
        if await self._reader.client(claims.client_id) is None:
            return INACTIVE
        return Introspection(
            active=True,
            token_type=IntrospectedType.ACCESS_TOKEN,
            subject=claims.client_id,
            client_id=claims.client_id,
            scopes=claims.scopes,
            issued_at=claims.issued_at,
            expires_at=claims.expires_at,
        )

    async def _refresh_token(self, token: str) -> Introspection | None:
        if len(token) > MAX_REFRESH_TOKEN_LENGTH:
            return None
        async with self._uow() as uow:
            stored = await uow.refresh_tokens.get_by_digest(SecretDigest.of(token))
            if stored is None:
                return None
            session = await uow.sessions.get(stored.session_id)
            user = await uow.users.get_by_id(stored.user_id)
        now = self._clock.now()
        if stored.is_used or now >= stored.expires_at:
            return INACTIVE
        if session is None or not session.is_usable(now) or not _usable(user):
            return INACTIVE
        return Introspection(
            active=True,
            token_type=IntrospectedType.REFRESH_TOKEN,
            subject=str(stored.user_id),
            issued_at=stored.issued_at,
            expires_at=stored.expires_at,
            username=user.email.value if user is not None else None,
        )

    async def _api_key(self, token: str) -> Introspection | None:
        parsed = ParsedApiKey.parse(token)
        if parsed is None:
            return None
        api_key, user = await self._reader.api_key_with_owner(parsed.prefix)
        if api_key is None or not api_key.digest.matches(parsed.key):
            return None
        if api_key.is_expired(self._clock.now()) or not _usable(user) or user is None:
            return INACTIVE
        return Introspection(
            active=True,
            token_type=IntrospectedType.API_KEY,
            subject=str(api_key.user_id),
            issued_at=api_key.created_at,
            expires_at=api_key.expires_at,
            username=user.email.value,
        )


def _usable(user: User | None) -> bool:
    return user is not None and user.is_active
