"""Digests of high-entropy secrets: what is stored instead of a refresh token or API key."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

_HEX_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class SecretDigest:
    """The SHA-256 of a secret, hex-encoded.

    A fast hash is right here, unlike for passwords: the secrets are ≥ 256 random bits, so
    there is nothing to guess, and a lookup by digest must be cheap on every request.
    """

    value: str

    def __post_init__(self) -> None:
        if not _HEX_SHA256.fullmatch(self.value):
            raise ValueError("A secret digest is 64 lowercase hex characters.")

    @classmethod
    def of(cls, secret: str) -> SecretDigest:
        return cls(hashlib.sha256(secret.encode()).hexdigest())

    def matches(self, secret: str) -> bool:
        """Constant-time comparison with the digest of `secret`."""
        return hmac.compare_digest(self.value, hashlib.sha256(secret.encode()).hexdigest())
