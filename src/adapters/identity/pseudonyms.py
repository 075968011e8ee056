"""Keyed pseudonyms (HMAC-SHA256) for identifiers an audit event may not hold in clear."""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Callable

from application.ports import Pseudonymizer

_PURPOSE = b"accounts/audit-pseudonym/v1"


class HmacPseudonymizer(Pseudonymizer):
    """HMAC-SHA256 under a key derived from the service's key-encryption key.

    The derivation binds the key to this one purpose, so a pseudonym reveals nothing about
    keys used for anything else; without the key, guessing addresses cannot confirm one. The
    secret is read at the first pseudonym, so a process that never makes one never loads it.
    """

    def __init__(self, secret: Callable[[], str]) -> None:
        self._secret = secret

    @functools.cached_property
    def _key(self) -> bytes:
        return hmac.new(self._secret().encode(), _PURPOSE, hashlib.sha256).digest()

    def pseudonym(self, value: str) -> str:
        digest = hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()
        return f"hmac-sha256:{digest}"
