"""Access tokens of an external identity provider, verified with keys from its JWKS (PyJWT)."""

from __future__ import annotations

import asyncio
import http.client
import logging
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from adapters.identity.numeric_dates import numeric_date
from adapters.identity.token_errors import MALFORMED, client_safe_reason
from application.errors import InvalidToken
from application.ports import ExternalIdentity, ExternalTokenVerifier

logger = logging.getLogger(__name__)

# Asymmetric only, and never read from the token: an HS* token verified with the provider's
# public key as its secret (or an unsigned `none` token) must never pass.
ALGORITHMS = ("RS256", "ES256")
_REQUIRED_CLAIMS = ["iss", "aud", "sub", "exp", "iat"]
_MIN_RSA_KEY_BITS = 2048
_ROLE_SEPARATORS = re.compile(r"[\s,]+")
# Some CDNs in front of identity providers refuse urllib's default `Python-urllib` agent.
_REQUEST_HEADERS = {"User-Agent": "accounts-jwks-client/1", "Accept": "application/json"}


class _NotAKeySet(Exception):
    """The provider answered JSON, but not a JWK Set."""


# Everything a download or a parse of the key set may raise: the provider is down, slow,
# answers an error status, or sends something that is not a JWK Set.
_FETCH_FAILURES = (
    jwt.PyJWTError,
    OSError,
    ValueError,
    http.client.HTTPException,
    RecursionError,
    _NotAKeySet,
)

_UNAVAILABLE = "The identity provider's signing keys are unavailable."
_UNKNOWN_KEY = "The token is signed with a key this service does not know."


@dataclass(frozen=True, slots=True)
class _SigningKey:
    """One usable verification key from the provider's key set."""

    kid: str | None
    algorithm: str
    jwk: jwt.PyJWK = field(repr=False)


class JwksTokenVerifier(ExternalTokenVerifier):
    """Verifies RS256/ES256 access tokens of one provider against the keys of its JWKS URL.

    Keys are cached for `cache_seconds` and downloaded in a worker thread, one download at a
    time however many requests wait for it. A token naming an unknown `kid` triggers one
    refetch (the provider may have rotated its keys), but the provider is asked at most once
    per `min_refetch_interval_seconds` outside the scheduled refresh, so a flood of made-up
    `kid`s (or an outage) does not become a flood of requests to it. When a refresh fails the
    last good keys stay in use: an outage of the provider does not log everybody out.
    """

    def __init__(
        self,
        *,
        jwks_url: str,
        issuer: str,
        audience: str,
        roles_claim: str | None = None,
        timeout_seconds: float = 3.0,
        cache_seconds: float = 300.0,
        min_refetch_interval_seconds: float = 30.0,
        leeway_seconds: float = 30.0,
    ) -> None:
        if not issuer or not audience:
            raise ValueError("The external issuer and audience must not be empty.")
        if timeout_seconds <= 0 or cache_seconds <= 0:
            raise ValueError("The JWKS timeout and cache lifetime must be positive.")
        if min_refetch_interval_seconds < 0 or leeway_seconds < 0:
            raise ValueError("The JWKS refetch interval and the leeway must not be negative.")
        try:
            # Only its download is used: its own cache and cooldown lock a thread per
            # waiting request, while the event loop can make waiting requests share one fetch.
            self._client = jwt.PyJWKClient(
                jwks_url, cache_jwk_set=False, timeout=timeout_seconds, headers=_REQUEST_HEADERS
            )
        except jwt.PyJWKClientError as exc:
            raise ValueError("The JWKS URL must be an http or https URL.") from exc
        self._jwks_url = jwks_url
        self._issuer = issuer
        self._audience = audience
        self._roles_claim = roles_claim or None
        self._timeout = timeout_seconds
        self._cache_seconds = cache_seconds
        self._min_refetch_interval = min_refetch_interval_seconds
        self._leeway = leeway_seconds
        self._keys: tuple[_SigningKey, ...] | None = None
        self._fresh_until = 0.0
        self._last_attempt: float | None = None
        self._last_attempt_failed = False
        self._in_flight: asyncio.Task[None] | None = None

    def claims_issuer(self, token: str) -> bool:
        return _unverified_issuer(token) == self._issuer

    async def verify(self, token: str) -> ExternalIdentity:
        algorithm, kid = _unverified_header(token)
        # Checked before any key lookup: another issuer's token must not make us fetch keys.
        if not self.claims_issuer(token):
            raise InvalidToken("The token was issued by someone else.")
        key = await self._key_for(kid, algorithm)
        try:
            claims: Mapping[str, object] = jwt.decode(
                token,
                key.jwk,
                algorithms=[key.algorithm],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": _REQUIRED_CLAIMS},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(client_safe_reason(exc)) from exc
        # PyJWT takes any `int()`-able value (a string, a boolean) and any magnitude.
        numeric_date(claims, "iat")
        numeric_date(claims, "exp")
        return self._identity(claims)

    def _identity(self, claims: Mapping[str, object]) -> ExternalIdentity:
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise InvalidToken("The token lacks a required claim.")
        email = claims.get("email")
        email_verified = claims.get("email_verified")
        name = claims.get("name")
        return ExternalIdentity(
            issuer=self._issuer,
            subject=subject,
            email=email if isinstance(email, str) else None,
            email_verified=email_verified if isinstance(email_verified, bool) else None,
            name=name if isinstance(name, str) else None,
            roles=_roles(claims, self._roles_claim) if self._roles_claim else frozenset(),
        )

    async def _key_for(self, kid: str | None, algorithm: str) -> _SigningKey:
        keys = await self._current_keys()
        key = _select(keys, kid, algorithm)
        known_kid = kid is not None and any(candidate.kid == kid for candidate in keys)
        if key is None and kid is not None and not known_kid and self._may_fetch(scheduled=False):
            await self._refresh()
            key = _select(self._keys or (), kid, algorithm)
        if key is None:
            raise InvalidToken(_UNKNOWN_KEY)
        return key

    async def _current_keys(self) -> tuple[_SigningKey, ...]:
        expired = self._keys is None or time.monotonic() >= self._fresh_until
        if expired and self._may_fetch(scheduled=True):
            await self._refresh()
        if self._keys is None:
            raise InvalidToken(_UNAVAILABLE)
        return self._keys

    def _may_fetch(self, *, scheduled: bool) -> bool:
        """Whether asking the provider now keeps within the promised rate."""
        if self._in_flight is not None or self._last_attempt is None:
            return True  # joining a download in flight costs the provider nothing
        if scheduled and not self._last_attempt_failed:
            return True
        return time.monotonic() - self._last_attempt >= self._min_refetch_interval

    async def _refresh(self) -> None:
        """Start a download or join the one in flight; wait for it at most `timeout_seconds`."""
        if self._in_flight is None:
            self._last_attempt = time.monotonic()
            self._in_flight = asyncio.create_task(self._download())
        # Shielded: a caller that gives up (timeout, client gone) leaves the download to finish
        # for the others, and a slow provider never has more than one request from us open.
        try:
            await asyncio.wait_for(asyncio.shield(self._in_flight), self._timeout)
        except TimeoutError:
            logger.warning("JWKS download from %s is taking too long", self._jwks_url)

    async def _download(self) -> None:
        try:
            document: object = await asyncio.to_thread(self._client.fetch_data)
            keys = _signing_keys(document)
        except _FETCH_FAILURES as exc:
            self._last_attempt_failed = True
            logger.warning("JWKS download from %s failed: %s", self._jwks_url, type(exc).__name__)
        else:
            self._keys = keys
            self._fresh_until = time.monotonic() + self._cache_seconds
            self._last_attempt_failed = False
            if not keys:
                logger.warning("JWKS at %s has no usable RS256 or ES256 key", self._jwks_url)
        finally:
            self._in_flight = None


def _unverified_header(token: str) -> tuple[str, str | None]:
    """The token's `alg` (one we accept) and `kid` (PyJWT refuses one that is not a string),
    before any key is looked up."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidToken(MALFORMED) from exc
    algorithm = header.get("alg")
    if algorithm not in ALGORITHMS:
        raise InvalidToken("The token is signed with an algorithm not accepted here.")
    kid: str | None = header.get("kid")
    return algorithm, kid


def _unverified_issuer(token: str) -> str | None:
    try:
        claims: Mapping[str, object] = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    issuer = claims.get("iss")
    return issuer if isinstance(issuer, str) else None


def _select(keys: Sequence[_SigningKey], kid: str | None, algorithm: str) -> _SigningKey | None:
    """The key that signed the token by its `kid`, and only if it is meant for `algorithm`."""
    if kid is None:
        # Without a `kid` only a key set of one key says unambiguously which key to use.
        only = keys[0] if len(keys) == 1 else None
        return only if only is not None and only.algorithm == algorithm else None
    return next((key for key in keys if key.kid == kid and key.algorithm == algorithm), None)


def _signing_keys(document: object) -> tuple[_SigningKey, ...]:
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise _NotAKeySet
    entries: list[object] = document["keys"]
    return tuple(key for entry in entries if (key := _signing_key(entry)) is not None)


def _signing_key(entry: object) -> _SigningKey | None:
    """The entry as a verification key, or None when it is not one for RS256 or ES256."""
    if not isinstance(entry, dict) or entry.get("use", "sig") != "sig" or "d" in entry:
        return None  # encryption keys, and private keys a provider should never publish
    operations = entry.get("key_ops")
    if operations is not None and (not isinstance(operations, list) or "verify" not in operations):
        return None
    kid = entry.get("kid")
    algorithm = _algorithm_of(entry)
    if (kid is not None and not isinstance(kid, str)) or algorithm is None:
        return None
    try:
        jwk = jwt.PyJWK.from_dict(entry, algorithm)
    except jwt.PyJWTError:
        return None
    if isinstance(jwk.key, RSAPublicKey) and jwk.key.key_size < _MIN_RSA_KEY_BITS:
        return None
    return _SigningKey(kid=kid, algorithm=algorithm, jwk=jwk)


def _algorithm_of(entry: Mapping[str, object]) -> str | None:
    """RS256 for an RSA key, ES256 for a P-256 key, unless its own `alg` says otherwise."""
    kty, declared = entry.get("kty"), entry.get("alg")
    if kty == "RSA":
        algorithm = "RS256"
    elif kty == "EC" and entry.get("crv") == "P-256":
        algorithm = "ES256"
    else:
        return None
    return algorithm if declared in (None, algorithm) else None


def _roles(claims: Mapping[str, object], claim: str) -> frozenset[str]:
    """Roles under `claim`: a top-level name first (Auth0's are URLs, full of dots), then a
    dotted path (`realm_access.roles` in Keycloak); a list or a space/comma-separated string."""
    value: object = claims.get(claim)
    if claim not in claims:
        value = claims
        for step in claim.split("."):
            value = value.get(step) if isinstance(value, dict) else None
    if isinstance(value, str):
        return frozenset(role for role in _ROLE_SEPARATORS.split(value) if role)
    if isinstance(value, list):
        return frozenset(role for role in value if isinstance(role, str) and role)
    return frozenset()
