"""Client-safe words for PyJWT's failures, shared by our own and external token checks."""

from __future__ import annotations

import jwt

MALFORMED = "The token is malformed or cannot be verified."
EXPIRED = "The token has expired."

_REASONS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.ExpiredSignatureError, EXPIRED),
    (jwt.InvalidAudienceError, "The token is not meant for this service."),
    (jwt.InvalidIssuerError, "The token was issued by someone else."),
    (jwt.InvalidSignatureError, "The token's signature is not valid."),
    (jwt.MissingRequiredClaimError, "The token lacks a required claim."),
    (jwt.ImmatureSignatureError, "The token is not valid yet."),
    (jwt.InvalidAlgorithmError, "The token is signed with an algorithm not accepted here."),
)


def client_safe_reason(exc: jwt.PyJWTError) -> str:
    """Which check failed, never the library's own message (it may quote the token)."""
    for kind, reason in _REASONS:
        if isinstance(exc, kind):
            return reason
    return MALFORMED
