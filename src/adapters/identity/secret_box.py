"""Second-factor secrets sealed at rest with AES-256-GCM under a key of their own."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from application.errors import SecondFactorUnavailable
from application.ports import SecretBox

_PURPOSE = b"accounts/totp-secret/v1"
_VERSION = b"\x01"
_NONCE_BYTES = 12

NO_KEY_MESSAGE = "Second factors are unavailable: the service has no key to protect them with."


class AesGcmSecretBox(SecretBox):
    """AES-256-GCM, its key derived (HKDF-SHA256, an info label of its own) from the service's
    key-encryption key, so it differs from every other key derived from that secret.

    A sealed value is a version byte, a random 96-bit nonce and the ciphertext with its tag;
    the version byte is authenticated too. `secret` returns None when the service has no key
    for this (production without `KEY_ENCRYPTION_KEY`): sealing and opening then refuse.
    """

    def __init__(self, secret: Callable[[], str | None]) -> None:
        self._secret = secret

    @functools.cached_property
    def _cipher(self) -> AESGCM | None:
        secret = self._secret()
        if secret is None:
            return None
        key = HKDF(algorithm=SHA256(), length=32, salt=None, info=_PURPOSE).derive(
            secret.encode("utf-8")
        )
        return AESGCM(key)

    def _require(self) -> AESGCM:
        cipher = self._cipher
        if cipher is None:
            raise SecondFactorUnavailable(NO_KEY_MESSAGE)
        return cipher

    def seal(self, plaintext: bytes) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return _VERSION + nonce + self._require().encrypt(nonce, plaintext, _VERSION)

    def open(self, sealed: bytes) -> bytes:
        cipher = self._require()
        version, nonce, body = sealed[:1], sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :]
        if version != _VERSION:
            raise SecondFactorUnavailable("A stored second-factor secret cannot be read.")
        try:
            return cipher.decrypt(nonce, body, version)
        except InvalidTag:
            raise SecondFactorUnavailable("A stored second-factor secret cannot be read.") from None
