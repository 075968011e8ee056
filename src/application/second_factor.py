"""Checking one-time codes against a TOTP factor, and making its secrets and recovery codes."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime

from application.errors import AccountDeleted, InvalidOneTimeCode
from application.ports import OneTimePasswords, SecretBox, SecretGenerator, UnitOfWork
from application.principal import Principal
from domain.credentials import SecretDigest
from domain.mfa import (
    RECOVERY_CODE_COUNT,
    TotpFactor,
    candidate_steps,
    is_totp_code,
    normalized_recovery_code,
)
from domain.users import User

BASE32_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
TOTP_SECRET_LENGTH = 32
"""Base32 characters of a new secret: 160 bits, the HMAC-SHA1 key size RFC 4226 recommends."""

RECOVERY_CODE_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"
"""Lowercase letters and digits without the look-alikes 0, 1, l and o: 5 bits a character."""
RECOVERY_CODE_LENGTH = 16
"""80 random bits: nothing to guess offline, so a SHA-256 digest is enough to store."""
RECOVERY_CODE_GROUP = 4

MAX_CODE_LENGTH = 64
"""Longer codes are refused before any work is done on them."""

WRONG_CODE = "The one-time code is wrong or was used already."


def _grouped(code: str) -> str:
    size = RECOVERY_CODE_GROUP
    return "-".join(code[i : i + size] for i in range(0, len(code), size))


@dataclass(frozen=True, slots=True)
class SecondFactorCodes:
    """What the second-factor use cases share: new secrets, and the one rule for checking a code.

    A TOTP code is accepted for the current step or one step either way, and only for a step
    after the last one used; a recovery code (where allowed) is accepted once.
    """

    otp: OneTimePasswords
    box: SecretBox
    secrets: SecretGenerator

    def new_secret(self) -> tuple[str, bytes]:
        """A new base32 TOTP secret, and the same sealed for storage."""
        secret = self.secrets.choice(BASE32_ALPHABET, TOTP_SECRET_LENGTH)
        return secret, self.box.seal(secret.encode("ascii"))

    def new_recovery_codes(self) -> tuple[list[str], list[SecretDigest]]:
        """Recovery codes to show once (grouped for reading), and their digests to store."""
        codes = [
            self.secrets.choice(RECOVERY_CODE_ALPHABET, RECOVERY_CODE_LENGTH)
            for _ in range(RECOVERY_CODE_COUNT)
        ]
        return [_grouped(code) for code in codes], [SecretDigest.of(code) for code in codes]

    def check(
        self, factor: TotpFactor, code: str, now: datetime, *, recovery_codes: bool = True
    ) -> bool:
        """Whether `code` is accepted now; an accepted code is spent on `factor` (save it)."""
        code = code.strip()
        if len(code) > MAX_CODE_LENGTH:
            return False
        if is_totp_code(code):
            secret = self.box.open(factor.sealed_secret).decode("ascii")
            for step in candidate_steps(now, factor.last_used_step):
                if hmac.compare_digest(self.otp.code_at(secret, step), code):
                    factor.use_step(step)
                    return True
            return False
        if not recovery_codes or not factor.is_enabled:
            return False
        if len(normalized_recovery_code(code)) != RECOVERY_CODE_LENGTH:
            return False
        return factor.spend_recovery_code(code)

    def spend(
        self, factor: TotpFactor, code: str | None, now: datetime, *, recovery_codes: bool = True
    ) -> None:
        """Spend `code` on `factor` (save it); `InvalidOneTimeCode` when it is not accepted now."""
        if code is None or not self.check(factor, code, now, recovery_codes=recovery_codes):
            raise InvalidOneTimeCode(WRONG_CODE)


async def callers_factor(uow: UnitOfWork, principal: Principal) -> tuple[User, TotpFactor | None]:
    """The calling bearer's account and its second factor, both locked for a change;
    `AccountDeleted` when the account is gone."""
    principal.ensure_bearer()
    user = await uow.users.get_by_id(principal.user.id, for_update=True)
    if user is None:
        raise AccountDeleted("The account no longer exists.")
    return user, await uow.second_factors.get(user.id, for_update=True)
