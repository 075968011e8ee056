"""Rate-limiting ports: a shared counter store, and who hears when that store fails."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from application.errors import StorageUnavailable

# How a window is counted; every rate limiter implements all three.
Strategy = Literal["fixed-window", "moving-window", "sliding-window-counter"]


@dataclass(frozen=True, slots=True)
class RateLimitPolicy:
    """A named allowance: `limit` requests per `window_seconds`; the name is shown to clients."""

    name: str
    limit: int
    window_seconds: int

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("A rate-limit policy needs a name.")
        if self.limit < 1 or self.window_seconds < 1:
            raise ValueError(f"Policy {self.name!r} needs a limit and a window of at least 1.")


@dataclass(frozen=True, slots=True)
class Charge:
    """One unit to spend: a policy and the key it is counted under."""

    policy: RateLimitPolicy
    key: str


@dataclass(frozen=True, slots=True)
class RateLimitStatus:
    """One policy's answer to one request.

    `reset_after` is the seconds until the policy's window moves on: when `remaining` is 0,
    the wait before it admits a request again.
    """

    policy: RateLimitPolicy
    allowed: bool
    remaining: int
    reset_after: float

    @property
    def exhausted(self) -> bool:
        return not self.allowed or self.remaining <= 0


class RateLimiter(Protocol):
    """May a request spend these charges now, and what is left? Atomic per key."""

    async def hit_all(self, charges: Sequence[Charge]) -> list[RateLimitStatus]:
        """Spend the charges in order, stopping at the first refusal, all in one store call.

        Returns one status per charge processed, in charge order: the refused charge's status
        comes last, and the charges after it are neither spent nor reported. Raises
        `StorageUnavailable` on store failure.
        """
        ...

    async def check(self) -> None:
        """Raise `StorageUnavailable` unless the store answers."""
        ...


class RateLimitObserver(Protocol):
    """Hears about every storage failure the throttle met, whether it let the request through,
    and about every mail the `mail` policy kept from being sent."""

    def storage_unavailable(self, error: StorageUnavailable, *, failed_open: bool) -> None: ...

    def mail_refused(self, kind: str) -> None:
        """A mail of `kind` was not queued: its recipient's allowance is spent."""
        ...


class MailQuota(Protocol):
    """Spends the `mail` allowance of one recipient address, whoever asks for the mail."""

    async def allows(self, recipient: str, kind: str) -> bool:
        """True when one more mail may go to `recipient` (and spend it); False when the
        allowance is spent, which the observer hears of."""
        ...
