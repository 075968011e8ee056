"""Signed JWT access tokens (RFC 9068 profile) through PyJWT, and the keys they are signed with."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol
from uuid import UUID, uuid4

import jwt

from adapters.identity.key_pairs import public_jwk_of, thumbprint
from adapters.identity.numeric_dates import numeric_date
from adapters.identity.published import published
from adapters.identity.token_errors import EXPIRED, client_safe_reason
from application.errors import InvalidToken, NoSigningKey
from application.ports import (
    AccessToken,
    AccessTokenClaims,
    ClientAccessTokenClaims,
    ClientTokens,
    PublicKeys,
    PublishedDocument,
    SigningKeyring,
    TokenIssuer,
    TokenVerifier,
    UnsealedSigningKey,
)
from domain.clients import ClientId, Scope, is_client_id, parse_scope_text, scope_text
from domain.errors import ScopeNotGranted
from domain.sessions import Session
from domain.signing_keys import KeySet
from domain.users import Role, User, UserId

ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 - a JOSE media type, not a secret
_ACCEPTED_TYPES = frozenset({"at+jwt", "application/at+jwt"})
_REQUIRED_CLAIMS = ["iss", "aud", "sub", "exp", "iat", "jti", "role", "sid", "auth_time", "amr"]
# A client's token names the client (`client_id`, also its `sub`) and its scopes; no user claims.
_CLIENT_REQUIRED_CLAIMS = ["iss", "aud", "sub", "exp", "iat", "jti", "client_id", "scope"]
_USER_ONLY_CLAIMS = ("role", "sid", "auth_time", "amr")
# Distinct tokens whose verification is remembered (about 1 KiB each): far more than the
# tokens one worker sees within an access token's lifetime at its request rate.
VERIFIED_TOKEN_CACHE_SIZE = 4096
SUPPORTED_ALGORITHMS = frozenset({"HS256", "RS256", "ES256", "EdDSA"})
# JWS header members naming a verification key (RFC 7515 §4.1): keys are ours alone, so a
# token carrying one is refused rather than the member merely ignored.
_EMBEDDED_KEY_MEMBERS = frozenset({"jwk", "jku", "x5u", "x5c"})
# Algorithms whose signing costs more than a thread handoff (bench/RESULTS.md has the figures).
_SIGNED_ON_A_THREAD = frozenset({"RS256"})


@dataclass(frozen=True, slots=True)
class JwtKeys:
    """Keys given by configuration: a shared secret (HS256) or a fixed PEM pair.

    `key_id` names the current key (the `kid` header of issued tokens). During a rotation,
    `previous_keys` maps the `kid` of each retired key to what verifies it; they never sign.
    """

    algorithm: str
    signing_key: str | bytes = field(repr=False)
    verification_key: str | bytes = field(repr=False)
    key_id: str | None = None
    previous_keys: Mapping[str, str | bytes] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.algorithm not in SUPPORTED_ALGORITHMS:
            raise ValueError(f"Unsupported JWT algorithm {self.algorithm!r}.")
        if self.previous_keys and not self.key_id:
            raise ValueError("Previous keys need a key id for the current key.")
        if self.key_id in self.previous_keys:
            raise ValueError("A previous key cannot share the current key's id.")


@dataclass(frozen=True, slots=True)
class RingKey:
    """One key as the token service uses it: parsed once, bound to its algorithm.

    `signer` is the prepared private key (or secret), None for a key that only verifies;
    it signs from `signs_from` until `retired_at` (POSIX seconds).
    """

    kid: str | None
    verifier: jwt.PyJWK
    signer: Any = field(default=None, repr=False)
    signs_from: float = float("-inf")
    retired_at: float = float("inf")


class KeyRing:
    """An immutable set of keys: which one signs at a moment, and which verifies a `kid`.

    A token without `kid` is checked with `default` (configured keys only: managed keys
    always name theirs). `jwks` is the published document of the same keys.
    """

    def __init__(
        self,
        keys: Sequence[RingKey],
        jwks: PublishedDocument,
        default: RingKey | None = None,
    ) -> None:
        self._by_kid = {key.kid: key for key in keys if key.kid is not None}
        # Newest first: the first whose time has come signs.
        self._signers = sorted(
            (key for key in keys if key.signer is not None),
            key=lambda key: key.signs_from,
            reverse=True,
        )
        self._default = default
        self.jwks = jwks

    def signer(self, now: float) -> RingKey:
        for key in self._signers:
            if key.signs_from <= now < key.retired_at:
                return key
        raise NoSigningKey("No signing key is in service; see `accounts keys list`.")

    def verifier(self, kid: object) -> jwt.PyJWK:
        """The key a token's `kid` names, by id only: each key pins its own algorithm."""
        if kid is None and self._default is not None:
            return self._default.verifier
        if isinstance(kid, str) and (key := self._by_kid.get(kid)) is not None:
            return key.verifier
        raise InvalidToken("The token was signed with a key this service does not know.")


def _published(entries: Sequence[Mapping[str, str]]) -> PublishedDocument:
    """The JWKS of `entries`, prepared once."""
    return published({"keys": list(entries)})


def _jwks_entry(kid: str, algorithm: str, public_jwk: Mapping[str, str]) -> dict[str, str]:
    return {"kid": kid, "alg": algorithm, "use": "sig", **public_jwk}


def _verifier(algorithm: str, key: Any) -> jwt.PyJWK:
    """A public key (or secret) as a PyJWK bound to `algorithm`: PyJWT refuses any other."""
    implementation = jwt.PyJWS().get_algorithm_by_name(algorithm)
    prepared = implementation.prepare_key(key)
    if hasattr(prepared, "public_key"):
        prepared = prepared.public_key()
    return jwt.PyJWK(implementation.to_jwk(prepared, as_dict=True), algorithm)


def _signer(algorithm: str, key: str | bytes) -> Any:
    """A private key (PEM) or secret parsed once, as PyJWT signs with it."""
    return jwt.PyJWS().get_algorithm_by_name(algorithm).prepare_key(key)


class ConfiguredKeys(PublicKeys):
    """Keys from settings: an HS256 secret (nothing published) or a fixed PEM pair, whose
    `kid` is `JWT_KEY_ID` or its RFC 7638 thumbprint."""

    def __init__(self, keys: JwtKeys) -> None:
        algorithm = keys.algorithm
        symmetric = algorithm == "HS256"
        current_public = None if symmetric else public_jwk_of(algorithm, keys.verification_key)
        kid = keys.key_id
        if kid is None and current_public is not None:
            kid = thumbprint(current_public)
        current = RingKey(
            kid, _verifier(algorithm, keys.verification_key), _signer(algorithm, keys.signing_key)
        )
        previous = [
            RingKey(previous_kid, _verifier(algorithm, key))
            for previous_kid, key in keys.previous_keys.items()
        ]
        entries = []
        if current_public is not None and kid is not None:
            entries.append(_jwks_entry(kid, algorithm, current_public))
            entries.extend(
                _jwks_entry(previous_kid, algorithm, public_jwk_of(algorithm, key))
                for previous_kid, key in keys.previous_keys.items()
            )
        self.ring = KeyRing([current, *previous], _published(entries), default=current)

    def jwks(self) -> PublishedDocument:
        return self.ring.jwks


class ManagedKeys(SigningKeyring, PublicKeys):
    """The managed keys of the database, as the refresher installs them; each install
    replaces the ring whole (and with it the token service's verification cache)."""

    def __init__(self, keep_after_retirement: timedelta) -> None:
        self._keep = keep_after_retirement
        self.ring = KeyRing([], _published([]))

    def install(self, keys: Sequence[UnsealedSigningKey], now: datetime) -> None:
        published = {key.kid for key in KeySet.of(k.key for k in keys).published(now, self._keep)}
        ring_keys = []
        entries = []
        for unsealed in keys:
            key = unsealed.key
            if key.kid not in published:
                continue
            retired_at = key.retired_at.timestamp() if key.retired_at else float("inf")
            ring_keys.append(
                RingKey(
                    key.kid,
                    jwt.PyJWK(dict(key.public_jwk), key.algorithm),
                    None
                    if unsealed.private_key is None
                    else _signer(key.algorithm, unsealed.private_key),
                    key.signs_from.timestamp(),
                    retired_at,
                )
            )
            entries.append(_jwks_entry(key.kid, key.algorithm, key.public_jwk))
        self.ring = KeyRing(ring_keys, _published(entries))

    def jwks(self) -> PublishedDocument:
        return self.ring.jwks


class KeySource(Protocol):
    """Where the token service finds the key ring in force."""

    ring: KeyRing


class JwtTokenService(TokenIssuer, TokenVerifier, ClientTokens):
    """Issues and verifies access tokens with one configured algorithm.

    Verification never takes the algorithm from the token (so no `alg=none` or HS/RS
    confusion): the key its `kid` names pins it. It requires every claim and refuses any
    `typ` but `at+jwt` (refresh or reset tokens are never accepted as access tokens).
    """

    def __init__(
        self,
        keys: JwtKeys | KeySource,
        *,
        issuer: str,
        audience: str,
        access_token_ttl: timedelta,
        clock: Callable[[], float] = time.time,
        cache_size: int = VERIFIED_TOKEN_CACHE_SIZE,
    ) -> None:
        self._keys = ConfiguredKeys(keys) if isinstance(keys, JwtKeys) else keys
        self._clock = clock
        self._issuer = issuer
        self._audience = audience
        self._ttl = access_token_ttl
        self._cache_size = cache_size
        self._ring = self._keys.ring
        # A token's signature, issuer, audience, type and claims are checked once per key
        # ring: the same bytes under the same keys always give the same answer, and a new
        # ring (a key added, retired or unpublished) starts a new cache. Only the expiry
        # moves with time, so it is checked on every use, and revocation is the principal
        # read's business. Failures are never cached.
        self._verified = functools.lru_cache(maxsize=cache_size)(self._verify)
        self._verified_client = functools.lru_cache(maxsize=cache_size)(self._verify_client)
        self._client_shaped = functools.lru_cache(maxsize=cache_size)(self._names_a_client)

    def _current_ring(self) -> KeyRing:
        ring = self._keys.ring
        if ring is not self._ring:
            self._ring = ring
            self._verified = functools.lru_cache(maxsize=self._cache_size)(self._verify)
            self._verified_client = functools.lru_cache(maxsize=self._cache_size)(
                self._verify_client
            )
        return ring

    async def issue_access_token(self, user: User, session: Session, now: datetime) -> AccessToken:
        issued_at = now.replace(microsecond=0)
        expires_at = issued_at + self._ttl
        claims = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": str(user.id),
            "iat": int(issued_at.timestamp()),
            "exp": int(expires_at.timestamp()),
            "jti": str(uuid4()),
            "role": user.role.value,
            # OpenID Connect's session-id claim: ending the session ends the token.
            "sid": str(session.id),
            "auth_time": int(session.auth_time.timestamp()),
            "amr": list(session.amr),
            # Informational, as of issuance: resource servers decide what unverified means.
            "email_verified": user.email_verified,
        }
        token = await self._sign(claims)
        return AccessToken(
            value=token, expires_in=int(self._ttl.total_seconds()), expires_at=expires_at
        )

    def verify_access_token(self, token: str) -> AccessTokenClaims:
        self._current_ring()
        claims = self._verified(token)
        # PyJWT's own rule, without leeway: expired from the second `exp` names.
        if claims.expires_at.timestamp() <= self._clock():
            raise InvalidToken(EXPIRED)
        return claims

    def _verify(self, token: str) -> AccessTokenClaims:
        try:
            # Only for `typ` and `kid`: PyJWT parses it again, strictly, before trusting anything.
            header = jwt.get_unverified_header(token)
            if str(header.get("typ", "")).lower() not in _ACCEPTED_TYPES:
                raise InvalidToken("The token is not an access token.")
            claims = self._decode(token, header, _REQUIRED_CLAIMS)
            return AccessTokenClaims(
                subject=UserId(UUID(str(claims["sub"]))),
                role=_role(claims["role"]),
                token_id=str(claims["jti"]),
                issued_at=numeric_date(claims, "iat"),
                expires_at=numeric_date(claims, "exp"),
                session_id=UUID(str(claims["sid"])),
                auth_time=numeric_date(claims, "auth_time"),
                amr=_amr(claims["amr"]),
            )
        except jwt.InvalidTokenError as exc:
            raise InvalidToken(client_safe_reason(exc)) from exc
        except (ValueError, TypeError) as exc:
            raise InvalidToken("The token's claims are malformed.") from exc

    async def issue_client_token(
        self, client_id: ClientId, scopes: frozenset[Scope], now: datetime
    ) -> AccessToken:
        issued_at = now.replace(microsecond=0)
        expires_at = issued_at + self._ttl
        claims = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": client_id,
            "iat": int(issued_at.timestamp()),
            "exp": int(expires_at.timestamp()),
            "jti": str(uuid4()),
            "client_id": client_id,
            "scope": scope_text(scopes),
        }
        token = await self._sign(claims)
        return AccessToken(
            value=token, expires_in=int(self._ttl.total_seconds()), expires_at=expires_at
        )

    def is_client_token(self, token: str) -> bool:
        return self._client_shaped(token)

    def verify_client_token(self, token: str) -> ClientAccessTokenClaims:
        self._current_ring()
        claims = self._verified_client(token)
        if claims.expires_at.timestamp() <= self._clock():
            raise InvalidToken(EXPIRED)
        return claims

    def _verify_client(self, token: str) -> ClientAccessTokenClaims:
        try:
            header = jwt.get_unverified_header(token)
            if str(header.get("typ", "")).lower() not in _ACCEPTED_TYPES:
                raise InvalidToken("The token is not an access token.")
            claims = self._decode(token, header, _CLIENT_REQUIRED_CLAIMS)
            client_id = claims["client_id"]
            if not isinstance(client_id, str) or not is_client_id(client_id):
                raise InvalidToken("The token's client_id is malformed.")
            if claims["sub"] != client_id or any(name in claims for name in _USER_ONLY_CLAIMS):
                raise InvalidToken("The token is not a client's access token.")
            scope = claims["scope"]
            if not isinstance(scope, str):
                raise InvalidToken("The token's scope is malformed.")
            return ClientAccessTokenClaims(
                client_id=ClientId(client_id),
                scopes=parse_scope_text(scope),
                token_id=str(claims["jti"]),
                issued_at=numeric_date(claims, "iat"),
                expires_at=numeric_date(claims, "exp"),
            )
        except jwt.InvalidTokenError as exc:
            raise InvalidToken(client_safe_reason(exc)) from exc
        except (ValueError, TypeError, ScopeNotGranted) as exc:
            raise InvalidToken("The token's claims are malformed.") from exc

    def _names_a_client(self, token: str) -> bool:
        """Whether the unverified payload is ours and names a client and no login session.

        Only routes the token to the client verifier, which checks everything again; another
        issuer's token (an external provider's may carry `client_id`) is never routed there.
        """
        try:
            payload = jwt.decode(token, options={"verify_signature": False})
        except jwt.InvalidTokenError:
            return False
        return (
            payload.get("iss") == self._issuer and "client_id" in payload and "sid" not in payload
        )

    async def _sign(self, claims: dict[str, Any]) -> str:
        """The compact JWS of `claims` under the key signing now, with `typ` and `kid`."""
        key = self._current_ring().signer(self._clock())
        headers: dict[str, Any] = {"typ": ACCESS_TOKEN_TYPE}
        if key.kid is not None:
            headers["kid"] = key.kid
        algorithm = key.verifier.algorithm_name
        if algorithm in _SIGNED_ON_A_THREAD:
            # cryptography releases the GIL while it signs: the event loop serves meanwhile.
            return await asyncio.to_thread(
                jwt.encode, claims, key.signer, algorithm=algorithm, headers=headers
            )
        return jwt.encode(claims, key.signer, algorithm=algorithm, headers=headers)

    def _decode(self, token: str, header: Mapping[str, Any], required: list[str]) -> dict[str, Any]:
        """The claims of `token` once its signature, issuer, audience and `required` hold."""
        if not _EMBEDDED_KEY_MEMBERS.isdisjoint(header):
            raise InvalidToken("The token's header carries or points to a key; none is trusted.")
        key = self._current_ring().verifier(header.get("kid"))
        return jwt.decode(
            token,
            key,
            algorithms=[key.algorithm_name],
            audience=self._audience,
            issuer=self._issuer,
            options={"require": required},
        )


def _role(value: object) -> Role | None:
    """The claim's role when it names one; informational only, so unknown roles are None."""
    try:
        return Role(str(value))
    except ValueError:
        return None


def _amr(value: object) -> tuple[str, ...]:
    """RFC 8176 method names: a non-empty JSON array of strings."""
    if not isinstance(value, list) or not value or not all(isinstance(m, str) for m in value):
        raise ValueError("The amr claim must be a non-empty array of strings.")
    return tuple(value)
