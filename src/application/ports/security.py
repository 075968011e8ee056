"""Security ports: password hashing and access tokens."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from uuid import UUID

from domain.clients import ClientId, Scope
from domain.sessions import Session
from domain.signing_keys import SigningKey
from domain.users import HashedPassword, Role, User, UserId


@dataclass(frozen=True, slots=True)
class PasswordVerification:
    """The outcome of a check; `upgraded_hash` is set when the stored hash should be replaced."""

    valid: bool
    upgraded_hash: HashedPassword | None = None


class PasswordHasher(Protocol):
    """Hashes and verifies passwords without blocking the event loop."""

    async def hash(self, password: str) -> HashedPassword: ...

    async def verify(self, password: str, hashed: HashedPassword) -> PasswordVerification: ...

    async def verify_dummy(self, password: str) -> None:
        """Spend the same time as `verify`, for accounts that do not exist."""
        ...


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A signed access token as sent to the client."""

    value: str = field(repr=False)
    expires_in: int
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class AccessTokenClaims:
    """What a verified access token says; `role` is informational, the database decides."""

    subject: UserId
    role: Role | None
    token_id: UUID | str
    issued_at: datetime
    expires_at: datetime
    session_id: UUID | None = None
    """The login session (`sid`) the token belongs to; ending the session ends the token."""
    auth_time: datetime | None = None
    """When the user last proved a credential: the session's start, kept across refreshes."""
    amr: tuple[str, ...] = ()
    """How the user proved it (RFC 8176 method names)."""


@dataclass(frozen=True, slots=True)
class PublishedDocument:
    """A public document prepared once per change: its bytes and their entity tag."""

    body: bytes
    etag: str


class PublicKeys(Protocol):
    """The public keys that verify live tokens, as the JWKS (RFC 7517) resource servers fetch.

    Prepared once per key change, never per request; empty with a shared secret (HS256).
    """

    def jwks(self) -> PublishedDocument: ...


@dataclass(frozen=True, slots=True)
class GeneratedKeyPair:
    """A new key pair: its RFC 7638 thumbprint, public JWK and private key (PKCS #8 PEM)."""

    kid: str
    public_jwk: Mapping[str, str]
    private_key: bytes = field(repr=False)


class KeyPairGenerator(Protocol):
    """Makes new asymmetric key pairs for a JWS algorithm (RS256, ES256, EdDSA)."""

    def generate(self, algorithm: str) -> GeneratedKeyPair: ...


@dataclass(frozen=True, slots=True)
class UnsealedSigningKey:
    """A managed key with its private half opened (None once erased: it verifies only)."""

    key: SigningKey
    private_key: bytes | None = field(repr=False)


class SigningKeyring(Protocol):
    """The managed keys this process signs and verifies with, replaced whole on each change."""

    def install(self, keys: Sequence[UnsealedSigningKey], now: datetime) -> None:
        """Sign and verify with `keys` from now on, and publish those published at `now`."""
        ...


class TokenIssuer(Protocol):
    """Signs access tokens for a user."""

    async def issue_access_token(self, user: User, session: Session, now: datetime) -> AccessToken:
        """A token for `user` in `session`, carrying its id, `auth_time` and `amr`."""
        ...


@dataclass(frozen=True, slots=True)
class ClientAccessTokenClaims:
    """What a verified client access token says: the client and the scopes it was granted."""

    client_id: ClientId
    scopes: frozenset[Scope]
    token_id: str
    issued_at: datetime
    expires_at: datetime


class ClientTokens(Protocol):
    """Signs and verifies the access tokens of clients (no user, no session: scopes instead)."""

    async def issue_client_token(
        self, client_id: ClientId, scopes: frozenset[Scope], now: datetime
    ) -> AccessToken:
        """A token for `client_id` carrying `scopes`."""
        ...

    def is_client_token(self, token: str) -> bool:
        """True when the token (unverified) has the shape of a client's token, not a user's."""
        ...

    def verify_client_token(self, token: str) -> ClientAccessTokenClaims:
        """The verified claims; raises `InvalidToken` otherwise (a user's token too)."""
        ...


class TokenVerifier(Protocol):
    """Checks an access token's signature, type and claims; raises `InvalidToken` otherwise."""

    def verify_access_token(self, token: str) -> AccessTokenClaims: ...


@dataclass(frozen=True, slots=True)
class ExternalIdentity:
    """Who an external identity provider says the bearer is, from a verified access token."""

    issuer: str
    subject: str
    email: str | None
    email_verified: bool | None
    name: str | None
    roles: frozenset[str]


class ExternalTokenVerifier(Protocol):
    """Verifies access tokens signed by an external identity provider (keys from its JWKS)."""

    def claims_issuer(self, token: str) -> bool:
        """True when the token (unverified) names this provider as its issuer."""
        ...

    async def verify(self, token: str) -> ExternalIdentity:
        """The verified identity; raises `InvalidToken` for any failure, unreachable keys too."""
        ...


class Pseudonymizer(Protocol):
    """Turns an identifier not to be stored in clear into a stable, keyed, one-way token."""

    def pseudonym(self, value: str) -> str:
        """The same value always gives the same token; without the key it cannot be reversed."""
        ...


class SecretBox(Protocol):
    """Encrypts secrets kept at rest (authenticated encryption under a key of the service).

    Raises its own `ApplicationError` (`SecondFactorUnavailable` for second-factor secrets,
    `SigningKeysUnreadable` for signing keys) when it holds no key or the key does not fit.
    """

    def seal(self, plaintext: bytes) -> bytes:
        """The ciphertext of `plaintext`; sealing the same bytes twice gives different results."""
        ...

    def open(self, sealed: bytes) -> bytes:
        """The plaintext `seal` was given; raises the box's error if it cannot."""
        ...


class OneTimePasswords(Protocol):
    """Computes RFC 4226/6238 one-time codes (HMAC-SHA1, six digits, 30-second steps)."""

    def code_at(self, secret: str, step: int) -> str:
        """The code of the base32 `secret` for the time step (or counter) `step`."""
        ...

    def provisioning_uri(self, secret: str, account: str, issuer: str) -> str:
        """The `otpauth://totp/…` URI authenticator apps read (as a QR code or pasted)."""
        ...
