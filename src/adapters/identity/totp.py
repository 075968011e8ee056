"""RFC 6238 codes through `cryptography`'s HOTP/TOTP (PyCA, a dependency already)."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.hotp import HOTP
from cryptography.hazmat.primitives.twofactor.totp import TOTP

from application.ports import OneTimePasswords
from domain.mfa import TOTP_DIGITS, TOTP_STEP_SECONDS


def _key(secret: str) -> bytes:
    return base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))


class CryptographyOneTimePasswords(OneTimePasswords):
    """HMAC-SHA1, six digits, 30-second steps: what every authenticator app computes.

    The step is given by the caller (which applies the drift window and the replay rule), so
    the counter-based HOTP of RFC 4226 is all that is needed here.
    """

    def code_at(self, secret: str, step: int) -> str:
        # SHA-1 is what RFC 6238 apps compute; as an HMAC it is not broken.
        hotp = HOTP(_key(secret), TOTP_DIGITS, SHA1())  # noqa: S303
        return hotp.generate(step).decode("ascii")

    def provisioning_uri(self, secret: str, account: str, issuer: str) -> str:
        totp = TOTP(_key(secret), TOTP_DIGITS, SHA1(), TOTP_STEP_SECONDS)  # noqa: S303
        return totp.get_provisioning_uri(account, issuer)
