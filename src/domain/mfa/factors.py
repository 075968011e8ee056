"""A user's TOTP factor (RFC 6238): its sealed secret, the last step used, its recovery codes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from domain.credentials import SecretDigest
from domain.users import UserId

TOTP_STEP_SECONDS = 30
TOTP_DIGITS = 6
TOTP_DRIFT_STEPS = 1
"""Codes of one step before or after the current one are accepted (a clock off by ≤ 30 s)."""

RECOVERY_CODE_COUNT = 10

OTP_AMR: tuple[str, ...] = ("pwd", "otp")
"""RFC 8176 methods of a login completed with a one-time code (TOTP or recovery code)."""

_TOTP_CODE = re.compile(r"[0-9]{6}")
_RECOVERY_SEPARATORS = re.compile(r"[\s-]")


def is_totp_code(code: str) -> bool:
    """Exactly six ASCII digits."""
    return _TOTP_CODE.fullmatch(code) is not None


def normalized_recovery_code(code: str) -> str:
    """A recovery code as stored: lowercase, without the hyphens and spaces shown for reading."""
    return _RECOVERY_SEPARATORS.sub("", code).lower()


def candidate_steps(now: datetime, after: int | None) -> list[int]:
    """The time steps a code sent `now` may belong to, closest first, skipping any step at or
    before `after` (the last one used: a code works once)."""
    current = int(now.timestamp()) // TOTP_STEP_SECONDS
    steps = [current]
    for offset in range(1, TOTP_DRIFT_STEPS + 1):
        steps += [current - offset, current + offset]
    return [step for step in steps if after is None or step > after]


@dataclass(eq=False, slots=True)
class TotpFactor:
    """The TOTP factor of one user; compared by user.

    Pending (`confirmed_at` None) from enrolment until the first code is confirmed, and only
    then enabled. `sealed_secret` is the secret encrypted at rest; the domain never sees it in
    clear. `last_used_step` is the step of the last accepted code, so no code works twice.
    """

    user_id: UserId
    sealed_secret: bytes = field(repr=False)
    created_at: datetime
    confirmed_at: datetime | None = None
    last_used_step: int | None = None
    recovery_codes: list[SecretDigest] = field(default_factory=list, repr=False)

    @classmethod
    def enrol(cls, user_id: UserId, sealed_secret: bytes, now: datetime) -> TotpFactor:
        """A pending factor with a new secret; it replaces any earlier pending one."""
        return cls(user_id=user_id, sealed_secret=sealed_secret, created_at=now)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TotpFactor):
            return NotImplemented
        return self.user_id == other.user_id

    def __hash__(self) -> int:
        return hash(self.user_id)

    @property
    def is_enabled(self) -> bool:
        return self.confirmed_at is not None

    def use_step(self, step: int) -> None:
        """Record that the code of `step` was accepted; earlier steps are refused from now on."""
        if self.last_used_step is not None and step <= self.last_used_step:
            raise ValueError("A time step at or before the last one used cannot be used again.")
        self.last_used_step = step

    def confirm(self, now: datetime, recovery_codes: list[SecretDigest]) -> None:
        """Turn the factor on, with its first recovery codes."""
        self.confirmed_at = now
        self.recovery_codes = list(recovery_codes)

    def replace_recovery_codes(self, recovery_codes: list[SecretDigest]) -> None:
        """New recovery codes; every earlier one stops working."""
        self.recovery_codes = list(recovery_codes)

    def spend_recovery_code(self, code: str) -> bool:
        """Spend the recovery code `code` if it is one of ours and unused; say whether it was."""
        normalized = normalized_recovery_code(code)
        for digest in self.recovery_codes:
            if digest.matches(normalized):
                self.recovery_codes.remove(digest)
                return True
        return False
