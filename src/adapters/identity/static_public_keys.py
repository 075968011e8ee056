"""The JWKS (RFC 7517) of configured keys: a fixed PEM pair and, during a rotation, the previous
public key; empty with a shared secret (HS256)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from typing import Any

import jwt

from application.ports import PublicKeys, PublishedDocument

# RFC 7638 §3.2: the members of each key type that its thumbprint covers.
_THUMBPRINT_MEMBERS = {
    "RSA": ("e", "kty", "n"),
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
}
SYMMETRIC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})


def public_jwk(algorithm: str, public_pem: str | bytes) -> dict[str, Any]:
    """The public JWK members (`kty`, `n`, `e` or `crv`, `x`, `y`) of a PEM public key."""
    implementation = jwt.PyJWS().get_algorithm_by_name(algorithm)
    document: dict[str, Any] = implementation.to_jwk(
        implementation.prepare_key(public_pem), as_dict=True
    )
    if "d" in document:
        raise ValueError("A public key file holds a private key.")
    return document


def thumbprint(jwk: Mapping[str, Any]) -> str:
    """The RFC 7638 SHA-256 thumbprint of a public JWK, base64url without padding."""
    members = _THUMBPRINT_MEMBERS[str(jwk["kty"])]
    canonical = json.dumps(
        {name: jwk[name] for name in members}, separators=(",", ":"), sort_keys=True
    )
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def key_id_of(algorithm: str, public_pem: str | bytes) -> str:
    """The `kid` of a PEM public key when none is configured: its RFC 7638 thumbprint."""
    return thumbprint(public_jwk(algorithm, public_pem))


def published(document: Mapping[str, Any]) -> PublishedDocument:
    """`document` as compact JSON bytes with a strong entity tag of their SHA-256."""
    body = json.dumps(document, separators=(",", ":")).encode()
    return PublishedDocument(body=body, etag=f'"{hashlib.sha256(body).hexdigest()[:32]}"')


class StaticPublicKeys(PublicKeys):
    """The JWKS of keys fixed at start: prepared once, since they change only with a restart."""

    def __init__(self, algorithm: str, keys: Mapping[str, str | bytes]) -> None:
        """`keys` maps each `kid` to its PEM public key, the current key first."""
        entries = []
        if algorithm not in SYMMETRIC_ALGORITHMS:
            entries = [
                {**public_jwk(algorithm, pem), "kid": kid, "use": "sig", "alg": algorithm}
                for kid, pem in keys.items()
            ]
        self._document = published({"keys": entries})

    def jwks(self) -> PublishedDocument:
        return self._document
