"""New signing key pairs through `cryptography`, named by their RFC 7638 thumbprint."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from application.ports import GeneratedKeyPair, KeyPairGenerator

RSA_KEY_BITS = 2048
# RFC 7638 §3.2: the members of each key type that its thumbprint covers.
_THUMBPRINT_MEMBERS = {
    "RSA": ("e", "kty", "n"),
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
}


def thumbprint(public_jwk: Mapping[str, Any]) -> str:
    """The RFC 7638 SHA-256 thumbprint of a public JWK, base64url without padding."""
    members = {name: public_jwk[name] for name in _THUMBPRINT_MEMBERS[str(public_jwk["kty"])]}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()


def public_jwk_of(algorithm: str, key: Any) -> dict[str, str]:
    """The public members of `key` (a private or public key object or PEM) as a JWK."""
    implementation = jwt.PyJWS().get_algorithm_by_name(algorithm)
    prepared = implementation.prepare_key(key)
    if hasattr(prepared, "public_key"):
        prepared = prepared.public_key()
    jwk = implementation.to_jwk(prepared, as_dict=True)
    return {name: str(value) for name, value in jwk.items() if name not in ("key_ops", "alg")}


class CryptographyKeyPairGenerator(KeyPairGenerator):
    """RSA 2048 (RS256), P-256 (ES256) or Ed25519 (EdDSA) keys from the OS's random source."""

    def generate(self, algorithm: str) -> GeneratedKeyPair:
        private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
        if algorithm == "RS256":
            private = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
        elif algorithm == "ES256":
            private = ec.generate_private_key(ec.SECP256R1())
        elif algorithm == "EdDSA":
            private = ed25519.Ed25519PrivateKey.generate()
        else:
            raise ValueError(f"No key pairs for {algorithm!r}.")
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        public = public_jwk_of(algorithm, private.public_key())
        return GeneratedKeyPair(kid=thumbprint(public), public_jwk=public, private_key=pem)
