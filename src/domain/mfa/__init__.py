"""The second factor: a TOTP authenticator with recovery codes, and the MFA login challenge."""

from domain.mfa.challenges import MFA_CHALLENGE_LIFETIME, MfaChallenge, MfaChallengeId
from domain.mfa.factors import (
    OTP_AMR,
    RECOVERY_CODE_COUNT,
    TOTP_DIGITS,
    TOTP_DRIFT_STEPS,
    TOTP_STEP_SECONDS,
    TotpFactor,
    candidate_steps,
    is_totp_code,
    normalized_recovery_code,
)

__all__ = [
    "MFA_CHALLENGE_LIFETIME",
    "OTP_AMR",
    "RECOVERY_CODE_COUNT",
    "TOTP_DIGITS",
    "TOTP_DRIFT_STEPS",
    "TOTP_STEP_SECONDS",
    "MfaChallenge",
    "MfaChallengeId",
    "TotpFactor",
    "candidate_steps",
    "is_totp_code",
    "normalized_recovery_code",
]
