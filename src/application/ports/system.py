"""Ports for the things the domain may not touch itself: time and randomness."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID


class Clock(Protocol):
    """Tells the current time, timezone-aware in UTC."""

    def now(self) -> datetime: ...


class IdGenerator(Protocol):
    """Makes new, unique, time-ordered identifiers."""

    def new_id(self) -> UUID: ...


class SecretGenerator(Protocol):
    """Makes unguessable secrets from a cryptographically secure source."""

    def token(self, nbytes: int) -> str:
        """`nbytes` random bytes, URL-safe base64 without padding."""
        ...

    def choice(self, alphabet: str, length: int) -> str:
        """`length` characters drawn uniformly from `alphabet`."""
        ...
