"""Client authentication (RFC 6749 §2.3) and the client-credentials grant (§4.4)."""

from __future__ import annotations

from dataclasses import dataclass, field

from application.errors import InvalidClient, InvalidToken
from application.ports import AccessToken, ClientTokens, Clock, PrincipalReader
from application.principal import ClientPrincipal
from domain.clients import (
    Client,
    ClientId,
    Scope,
    is_client_id,
    parse_scope_text,
    spend_dummy_comparison,
)


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    """A client id and secret as presented, by Basic or in the form."""

    client_id: str
    secret: str = field(repr=False)


class AuthenticateClient:
    """The client these credentials prove, or `InvalidClient`.

    One answer and the same work for an unknown id and a wrong secret: an unknown id still
    spends a constant-time comparison against a digest no client has.
    """

    def __init__(self, reader: PrincipalReader) -> None:
        self._reader = reader

    async def execute(self, credentials: ClientCredentials) -> Client:
        client = None
        if is_client_id(credentials.client_id):
            client = await self._reader.client(ClientId(credentials.client_id))
        if client is None:
            spend_dummy_comparison(credentials.secret)
            raise InvalidClient("Client authentication failed.")
        if not client.authenticates(credentials.secret):
            raise InvalidClient("Client authentication failed.")
        return client


@dataclass(frozen=True, slots=True)
class ClientCredentialsGrantCommand:
    credentials: ClientCredentials
    scope: str | None = None
    """RFC 6749 §3.3's space-separated list; None (absent) asks for every scope held."""


@dataclass(frozen=True, slots=True)
class IssuedClientToken:
    access_token: AccessToken
    scopes: frozenset[Scope]


class IssueClientToken:
    """Authenticate the client, grant the scopes asked for (a subset of its own) and sign a
    token for them; no refresh token (the client can always ask again)."""

    def __init__(
        self, authenticate: AuthenticateClient, tokens: ClientTokens, clock: Clock
    ) -> None:
        self._authenticate = authenticate
        self._tokens = tokens
        self._clock = clock

    async def execute(self, command: ClientCredentialsGrantCommand) -> IssuedClientToken:
        client = await self._authenticate.execute(command.credentials)
        requested = parse_scope_text(command.scope) if command.scope is not None else None
        scopes = client.grant(requested)
        token = await self._tokens.issue_client_token(client.id, scopes, self._clock.now())
        return IssuedClientToken(access_token=token, scopes=scopes)


class ResolveClientPrincipal:
    """Turn a client's access token into its principal, while the client exists: deleting a
    client stops its tokens here at the next request (one read, outside a transaction)."""

    def __init__(self, reader: PrincipalReader, tokens: ClientTokens) -> None:
        self._reader = reader
        self._tokens = tokens

    def accepts(self, token: str) -> bool:
        """Whether the token is shaped like a client's (then only `execute` may accept it)."""
        return self._tokens.is_client_token(token)

    async def execute(self, token: str) -> ClientPrincipal:
        claims = self._tokens.verify_client_token(token)
        if await self._reader.client(claims.client_id) is None:
            raise InvalidToken("The token's client no longer exists.")
        return ClientPrincipal(client_id=claims.client_id, scopes=claims.scopes)
