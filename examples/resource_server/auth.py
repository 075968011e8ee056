"""Local verification of accounts' access tokens: discovery once, keys from the JWKS, no call
to accounts per request."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt

ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt"})
REQUIRED_CLAIMS = ["iss", "aud", "sub", "exp", "iat"]
# JWS header members that name a key: keys come from the issuer's JWKS only.
EMBEDDED_KEY_MEMBERS = frozenset({"jwk", "jku", "x5u", "x5c"})


class InvalidAccessToken(Exception):
    """The token is not a valid access token of the configured issuer and audience."""


@dataclass(frozen=True)
class Caller:
    """Who a verified token speaks for: a user (`role`) or a client (`client_id`, `scopes`)."""

    subject: str
    expires_at: float
    role: str | None
    client_id: str | None
    scopes: frozenset[str]
    claims: Mapping[str, Any] = field(repr=False)

    @property
    def is_client(self) -> bool:
        return self.client_id is not None


def discover(issuer: str, timeout: float = 10.0) -> dict[str, Any]:
    """The issuer's RFC 8414 metadata; its `issuer` must be the one we were given (§3.3)."""
    url = f"{issuer.rstrip('/')}/.well-known/oauth-authorization-server"
    response = httpx.get(url, timeout=timeout)
    response.raise_for_status()
    metadata: dict[str, Any] = response.json()
    if metadata.get("issuer") != issuer:
        raise ValueError(f"{url} names issuer {metadata.get('issuer')!r}, not {issuer!r}")
    return metadata


class SigningKeys:
    """The issuer's public keys by `kid`, fetched through PyJWT's `PyJWKClient`.

    Kept for `max_age` seconds; a token naming an unknown `kid` (a rotation) makes us fetch
    again, at most once per `refetch_interval`, so forged `kid`s cannot make us call the issuer
    per request. Fetches run in a thread: the event loop never waits on the network.
    """

    def __init__(
        self,
        jwks_uri: str,
        *,
        max_age: float = 300.0,
        refetch_interval: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = jwt.PyJWKClient(jwks_uri, cache_jwk_set=False, timeout=10)
        self._max_age = max_age
        self._refetch_interval = refetch_interval
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = -float("inf")
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> jwt.PyJWK:
        """The signing key named `kid`; raises `InvalidAccessToken` when the issuer has none."""
        key = self._keys.get(kid)
        if key is None or self._stale():
            async with self._lock:
                key = self._keys.get(kid)
                since = self._clock() - self._fetched_at
                if self._stale() or (key is None and since >= self._refetch_interval):
                    self._keys = await asyncio.to_thread(self._fetch)
                    self._fetched_at = self._clock()
                    key = self._keys.get(kid)
        if key is None:
            raise InvalidAccessToken("The token names a key the issuer does not publish.")
        return key

    def _stale(self) -> bool:
        return self._clock() - self._fetched_at >= self._max_age

    def _fetch(self) -> dict[str, jwt.PyJWK]:
        """Signing keys that name their `kid` and `alg`: the algorithm is the key's, never the
        token's."""
        try:
            document = self._client.fetch_data()
        except jwt.PyJWKClientError as exc:
            raise InvalidAccessToken("The issuer's keys are unavailable.") from exc
        keys = {}
        for entry in document.get("keys", []):
            if entry.get("use", "sig") != "sig" or "kid" not in entry or "alg" not in entry:
                continue
            try:
                keys[str(entry["kid"])] = jwt.PyJWK(entry)
            except jwt.PyJWKError:
                continue  # a key type this PyJWT cannot use; the others still verify
        return keys


class AccessTokenVerifier:
    """Checks signature (algorithm pinned to the key), `typ`, `iss`, `aud`, `exp` locally.

    A token that passed is remembered (up to `cache_size` of them, the oldest forgotten first):
    the same bytes under the same published keys always give the same answer, so only its
    expiry is checked again. Failures are never remembered.
    """

    def __init__(
        self,
        issuer: str,
        audience: str,
        keys: SigningKeys,
        *,
        leeway: float = 0,
        cache_size: int = 4096,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self._keys = keys
        self._leeway = leeway
        self._cache_size = cache_size
        self._clock = clock
        self._verified: OrderedDict[str, Caller] = OrderedDict()

    @classmethod
    def from_discovery(
        cls,
        issuer: str,
        audience: str,
        metadata: Mapping[str, Any],
        cache_size: int = 4096,
        **key_options: Any,
    ) -> AccessTokenVerifier:
        keys = SigningKeys(str(metadata["jwks_uri"]), **key_options)
        return cls(issuer, audience, keys, cache_size=cache_size)

    async def verify(self, token: str) -> Caller:
        caller = self._verified.get(token)
        if caller is None:
            caller = await self._verify(token)
            if self._cache_size > 0:
                self._verified[token] = caller
                if len(self._verified) > self._cache_size:
                    self._verified.popitem(last=False)
        if caller.expires_at <= self._clock() - self._leeway:
            raise InvalidAccessToken("The token has expired.")
        return caller

    async def _verify(self, token: str) -> Caller:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise InvalidAccessToken("The token is malformed.") from exc
        if str(header.get("typ", "")).lower() not in ACCESS_TOKEN_TYPES:
            raise InvalidAccessToken("The token is not an access token.")
        if not EMBEDDED_KEY_MEMBERS.isdisjoint(header):
            raise InvalidAccessToken("The token carries its own key.")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise InvalidAccessToken("The token names no key.")
        key = await self._keys.key(kid)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[key.algorithm_name],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self._leeway,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.InvalidTokenError as exc:
            raise InvalidAccessToken(f"The token is invalid: {exc}") from exc
        scope = claims.get("scope", "")
        return Caller(
            subject=str(claims["sub"]),
            expires_at=float(claims["exp"]),
            role=claims.get("role") if isinstance(claims.get("role"), str) else None,
            client_id=str(claims["client_id"]) if "client_id" in claims else None,
            scopes=frozenset(scope.split()) if isinstance(scope, str) else frozenset(),
            claims=claims,
        )
