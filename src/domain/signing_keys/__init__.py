"""Managed signing keys: when each one signs, and which ones resource servers may see."""

from domain.signing_keys.keys import (
    ASYMMETRIC_ALGORITHMS,
    KeySet,
    KeyState,
    SigningKey,
)

__all__ = ["ASYMMETRIC_ALGORITHMS", "KeySet", "KeyState", "SigningKey"]
