"""Checking a password against a stored hash: one rule for every path that does it."""

from __future__ import annotations

from application.ports import PasswordHasher, PasswordVerification
from domain.users import HashedPassword, PasswordPolicy


async def verify_password(
    hasher: PasswordHasher,
    policy: PasswordPolicy,
    password: str,
    password_hash: HashedPassword | None,
) -> PasswordVerification:
    """Verify `password` against `password_hash`.

    A password no policy allows (empty, or longer than `max_length`) matches nothing and costs
    no hash: its length is the caller's own choice, so the quick answer tells them nothing.
    With no hash to match (no account, or one that signs in elsewhere) a dummy verification
    takes the time a real one would.
    """
    if not 0 < len(password) <= policy.max_length:
        return PasswordVerification(valid=False)
    if password_hash is None:
        await hasher.verify_dummy(password)
        return PasswordVerification(valid=False)
    return await hasher.verify(password, password_hash)
