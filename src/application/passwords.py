"""Checking a password against a stored hash: the same work whatever makes it fail."""

from __future__ import annotations

from application.ports import PasswordHasher, PasswordVerification
from domain.users import HashedPassword, PasswordPolicy


async def verify_password(
    hasher: PasswordHasher,
    policy: PasswordPolicy,
    password: str,
    password_hash: HashedPassword | None,
) -> PasswordVerification:
    """Verify `password`; with no hash to match, or a password no policy allows (empty or
    overlong), spend one dummy verification of at most `max_length` characters instead."""
    if password_hash is None or not 0 < len(password) <= policy.max_length:
        await hasher.verify_dummy(password[: policy.max_length])
        return PasswordVerification(valid=False)
    return await hasher.verify(password, password_hash)
