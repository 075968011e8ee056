"""A signing key's life: published before it signs, retired when its successor signs, kept
published until the last token it signed has expired, then expired."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from domain.errors import InvalidValue

ASYMMETRIC_ALGORITHMS = frozenset({"RS256", "ES256", "EdDSA"})
"""The JWS algorithms of managed keys (RFC 7518, RFC 8037)."""


class KeyState(StrEnum):
    """Where a key stands at a given moment."""

    NEXT = "next"  # published, not signing yet
    CURRENT = "current"  # signing
    RETIRED = "retired"  # no longer signing, still published for the tokens it signed
    EXPIRED = "expired"  # every token it signed has expired: no longer published


@dataclass(slots=True, eq=False)
class SigningKey:
    """One key pair: its public half as a JWK, its private half sealed (None once erased).

    `generation` counts keys from 1, one more for each rotation: two rotations racing make the
    same generation, and only one of them is kept. `signs_from` is when it starts signing;
    `retired_at` when a successor took over (a key retired before its `signs_from` never
    signed). Keys compare by `kid`.
    """

    kid: str
    generation: int
    algorithm: str
    public_jwk: Mapping[str, str]
    sealed_private_key: bytes | None = field(repr=False)
    created_at: datetime
    signs_from: datetime
    retired_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.algorithm not in ASYMMETRIC_ALGORITHMS:
            raise InvalidValue(f"Unsupported signing algorithm {self.algorithm!r}.")
        if not self.kid:
            raise InvalidValue("A signing key needs a key id.")
        if self.generation < 1:
            raise InvalidValue("Key generations count from 1.")
        if self.signs_from < self.created_at:
            raise InvalidValue("A key cannot sign before it exists.")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SigningKey) and other.kid == self.kid

    def __hash__(self) -> int:
        return hash(self.kid)

    def is_retired(self, now: datetime) -> bool:
        return self.retired_at is not None and self.retired_at <= now

    def state(self, now: datetime, keep_after_retirement: timedelta) -> KeyState:
        """NEXT, CURRENT, RETIRED or EXPIRED at `now` (see `KeySet.signing_key`)."""
        if self.retired_at is not None and self.retired_at <= now:
            if now < self.retired_at + keep_after_retirement:
                return KeyState.RETIRED
            return KeyState.EXPIRED
        if now < self.signs_from:
            return KeyState.NEXT
        return KeyState.CURRENT

    def retire(self, at: datetime) -> None:
        """Stop signing from `at` on (kept when it was retired earlier already)."""
        if self.retired_at is None or at < self.retired_at:
            self.retired_at = at

    def erase_private_key(self, now: datetime) -> bool:
        """Drop the sealed private half once retired (it never signs again); whether it did."""
        if not self.is_retired(now) or self.sealed_private_key is None:
            return False
        self.sealed_private_key = None
        return True


@dataclass(frozen=True, slots=True)
class KeySet:
    """Every managed key, and the rules deciding which signs and which are published."""

    keys: tuple[SigningKey, ...]

    @classmethod
    def of(cls, keys: Iterable[SigningKey]) -> KeySet:
        """The keys in the order they start signing (then of creation)."""
        return cls(tuple(sorted(keys, key=lambda k: (k.signs_from, k.created_at, k.kid))))

    def signing_key(self, now: datetime) -> SigningKey | None:
        """The newest key whose `signs_from` has come and that is not retired."""
        for key in reversed(self.keys):
            if key.signs_from <= now and not key.is_retired(now):
                return key
        return None

    def published(self, now: datetime, keep_after_retirement: timedelta) -> list[SigningKey]:
        """Keys resource servers must know at `now`: next, current and recently retired."""
        return [
            key
            for key in self.keys
            if key.state(now, keep_after_retirement) is not KeyState.EXPIRED
        ]

    def next_generation(self) -> int:
        """The generation of the key a rotation adds now."""
        return max((key.generation for key in self.keys), default=0) + 1

    def newest(self) -> SigningKey | None:
        """The key created last: the one a scheduled rotation counts from."""
        return max(self.keys, key=lambda k: k.created_at, default=None)

    def rotation_due(self, now: datetime, every: timedelta | None) -> bool:
        """Whether a new key is needed: none exists, or the newest is `every` old."""
        newest = self.newest()
        if newest is None or (self.signing_key(now) is None and not self._pending(now)):
            return True
        return every is not None and newest.created_at + every <= now

    def _pending(self, now: datetime) -> bool:
        return any(key.signs_from > now and not key.is_retired(now) for key in self.keys)

    def rotate(self, new_key: SigningKey) -> list[SigningKey]:
        """Make `new_key` the successor of every key still signing or waiting to sign when it
        starts; the keys that changed."""
        changed = []
        for key in self.keys:
            if key.retired_at is None or key.retired_at > new_key.signs_from:
                key.retire(new_key.signs_from)
                changed.append(key)
        return changed

    def next_change(self, now: datetime, keep_after_retirement: timedelta) -> datetime | None:
        """The next moment a key starts signing, retires or stops being published."""
        moments = [
            moment
            for key in self.keys
            for moment in (
                key.signs_from,
                key.retired_at,
                None if key.retired_at is None else key.retired_at + keep_after_retirement,
            )
            if moment is not None and moment > now
        ]
        return min(moments, default=None)
