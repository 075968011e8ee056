"""Signed JWT access tokens (RFC 9068 profile) through PyJWT."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import jwt

from adapters.identity.numeric_dates import numeric_date
from adapters.identity.token_errors import EXPIRED, client_safe_reason
from application.errors import InvalidToken
from application.ports import (
    AccessToken,
    AccessTokenClaims,
    ClientAccessTokenClaims,
    ClientTokens,
    TokenIssuer,
    TokenVerifier,
)
from domain.clients import ClientId, Scope, is_client_id, parse_scope_text, scope_text
from domain.errors import ScopeNotGranted
from domain.sessions import Session
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
SUPPORTED_ALGORITHMS = frozenset({"HS256", "RS256", "ES256"})
# JWS header members naming a verification key (RFC 7515 §4.1): keys are ours alone, so a
# token carrying one is refused rather than the member merely ignored.
_EMBEDDED_KEY_MEMBERS = frozenset({"jwk", "jku", "x5u", "x5c"})


@dataclass(frozen=True, slots=True)
class JwtKeys:
    """The one pinned algorithm and its keys: a shared secret (HS256) or a PEM pair.

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


class JwtTokenService(TokenIssuer, TokenVerifier, ClientTokens):
    """Issues and verifies access tokens with one configured algorithm.

    Verification never takes the algorithm from the token (so no `alg=none` or HS/RS
    confusion), requires every claim and refuses any `typ` but `at+jwt` (refresh or reset
    tokens are never accepted as access tokens).
    """

    def __init__(
        self,
        keys: JwtKeys,
        *,
        issuer: str,
        audience: str,
        access_token_ttl: timedelta,
        clock: Callable[[], float] = time.time,
        cache_size: int = VERIFIED_TOKEN_CACHE_SIZE,
    ) -> None:
        self._keys = keys
        self._clock = clock
        self._issuer = issuer
        self._audience = audience
        self._ttl = access_token_ttl
        self._algorithms = [keys.algorithm]
        # Keys are parsed (PEM) once here, not on every request, as PyJWK objects: each is
        # bound to the pinned algorithm, and PyJWT refuses a token whose `alg` differs.
        algorithm = jwt.PyJWS().get_algorithm_by_name(keys.algorithm)

        def as_jwk(key: str | bytes) -> jwt.PyJWK:
            prepared = algorithm.prepare_key(key)
            return jwt.PyJWK(algorithm.to_jwk(prepared, as_dict=True), keys.algorithm)

        self._current_key = as_jwk(keys.verification_key)
        self._previous_keys = {kid: as_jwk(key) for kid, key in keys.previous_keys.items()}
        self._headers: dict[str, Any] = {"typ": ACCESS_TOKEN_TYPE}
        if keys.key_id:
            self._headers["kid"] = keys.key_id
        # A token's signature, issuer, audience, type and claims are checked once per worker:
        # the same bytes under the same keys always give the same answer (keys change only
        # with a restart). Only the expiry moves with time, so it is checked on every use, and
        # revocation is the principal read's business. Failures are never cached.
        self._verified = functools.lru_cache(maxsize=cache_size)(self._verify)
        self._verified_client = functools.lru_cache(maxsize=cache_size)(self._verify_client)
        self._client_shaped = functools.lru_cache(maxsize=cache_size)(self._names_a_client)

    def issue_access_token(self, user: User, session: Session, now: datetime) -> AccessToken:
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
        token = self._sign(claims)
        return AccessToken(
            value=token, expires_in=int(self._ttl.total_seconds()), expires_at=expires_at
        )

    def verify_access_token(self, token: str) -> AccessTokenClaims:
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

    def issue_client_token(
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
        token = self._sign(claims)
        return AccessToken(
            value=token, expires_in=int(self._ttl.total_seconds()), expires_at=expires_at
        )

    def is_client_token(self, token: str) -> bool:
        return self._client_shaped(token)

    def verify_client_token(self, token: str) -> ClientAccessTokenClaims:
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

    def _sign(self, claims: dict[str, Any]) -> str:
        """The compact JWS of `claims` under the current signing key, with `typ` and `kid`."""
        return jwt.encode(
            claims, self._keys.signing_key, algorithm=self._keys.algorithm, headers=self._headers
        )

    def _decode(self, token: str, header: Mapping[str, Any], required: list[str]) -> dict[str, Any]:
        """The claims of `token` once its signature, issuer, audience and `required` hold."""
        if not _EMBEDDED_KEY_MEMBERS.isdisjoint(header):
            raise InvalidToken("The token's header carries or points to a key; none is trusted.")
        return jwt.decode(
            token,
            self._verification_key_for(header.get("kid")),
            algorithms=self._algorithms,
            audience=self._audience,
            issuer=self._issuer,
            options={"require": required},
        )

    def _verification_key_for(self, kid: object) -> jwt.PyJWK:
        """The key a token's `kid` names; a token without `kid` is checked with the current key.

        Selected by id only, never by the token's algorithm: every key uses the pinned one.
        """
        if kid is None or kid == self._keys.key_id:
            return self._current_key
        if isinstance(kid, str) and kid in self._previous_keys:
            return self._previous_keys[kid]
        raise InvalidToken("The token was signed with a key this service does not know.")


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
