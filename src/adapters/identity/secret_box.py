"""Secrets sealed at rest with AES-256-GCM, each kind under a key of its own: second-factor
secrets and private signing keys."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from application.errors import ApplicationError, SecondFactorUnavailable, SigningKeysUnreadable
from application.ports import SecretBox

_PURPOSE = b"accounts/totp-secret/v1"
SIGNING_KEY_PURPOSE = b"accounts/signing-key/v1"
_VERSION = b"\x01"
_NONCE_BYTES = 12

NO_KEY_MESSAGE = "Second factors are unavailable: the service has no key to protect them with."
UNREADABLE_MESSAGE = "A stored second-factor secret cannot be read."
SIGNING_KEYS_UNREADABLE = (
    "the stored signing keys do not decrypt with ACCOUNTS_KEY_ENCRYPTION_KEY: "
    "set the key they were sealed with"
)
NO_SIGNING_KEY_SECRET = "ACCOUNTS_KEY_ENCRYPTION_KEY must be set to seal managed signing keys"  # noqa: S105 - a message


class AesGcmSecretBox(SecretBox):
    """AES-256-GCM, its key derived (HKDF-SHA256, an info label of its own) from the service's
    key-encryption key, so it differs from every other key derived from that secret.

    A sealed value is a version byte, a random 96-bit nonce and the ciphertext with its tag;
    the version byte is authenticated too. `secret` returns None when the service has no key
    for this (production without `KEY_ENCRYPTION_KEY`): sealing and opening then refuse.
    """

    def __init__(
        self,
        secret: Callable[[], str | None],
        *,
        purpose: bytes = _PURPOSE,
        error: type[ApplicationError] = SecondFactorUnavailable,
        no_key_message: str = NO_KEY_MESSAGE,
        unreadable_message: str = UNREADABLE_MESSAGE,
    ) -> None:
        self._secret = secret
        self._purpose = purpose
        self._error = error
        self._no_key_message = no_key_message
        self._unreadable_message = unreadable_message

    @classmethod
    def for_signing_keys(cls, secret: Callable[[], str | None]) -> AesGcmSecretBox:
        """The box of private signing keys, under a key derived with a label of its own."""
        return cls(
            secret,
            purpose=SIGNING_KEY_PURPOSE,
            error=SigningKeysUnreadable,
            no_key_message=NO_SIGNING_KEY_SECRET,
            unreadable_message=SIGNING_KEYS_UNREADABLE,
        )

    @functools.cached_property
    def _cipher(self) -> AESGCM | None:
        secret = self._secret()
        if secret is None:
            return None
        key = HKDF(algorithm=SHA256(), length=32, salt=None, info=self._purpose).derive(
            secret.encode("utf-8")
        )
        return AESGCM(key)

    def _require(self) -> AESGCM:
        cipher = self._cipher
        if cipher is None:
            raise self._error(self._no_key_message)
        return cipher

    def seal(self, plaintext: bytes) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return _VERSION + nonce + self._require().encrypt(nonce, plaintext, _VERSION)

    def open(self, sealed: bytes) -> bytes:
        cipher = self._require()
        version, nonce, body = sealed[:1], sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :]
        if version != _VERSION:
            raise self._error(self._unreadable_message)
        try:
            return cipher.decrypt(nonce, body, version)
        except InvalidTag:
            raise self._error(self._unreadable_message) from None
