"""The user aggregate root."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from domain.users.values import EmailAddress, FullName, HashedPassword, Role, UserId


@dataclass(eq=False, slots=True)
class User:
    """A person or machine owner that can sign in; compared by id.

    `password_hash` is None for accounts provisioned from an external identity provider:
    they sign in there, and a password grant for them fails like a wrong password.

    `mfa_enabled` tells whether a login also needs a second factor (a confirmed TOTP factor).
    `email_verified` says the owner proved they receive mail at `email`: a new account and
    a changed address start unverified, and only a mailed link (or a reset) verifies them.

    `version` counts committed changes; the persistence layer bumps it on every update and
    uses it for optimistic locking, and the HTTP layer shows it as the ETag.
    """

    id: UserId
    email: EmailAddress
    full_name: FullName
    role: Role
    is_active: bool
    password_hash: HashedPassword | None = field(repr=False)
    created_at: datetime
    updated_at: datetime
    version: int = 1
    mfa_enabled: bool = False
    email_verified: bool = False

    @classmethod
    def register(
        cls,
        *,
        user_id: UserId,
        email: EmailAddress,
        full_name: FullName,
        password_hash: HashedPassword,
        now: datetime,
        role: Role = Role.USER,
    ) -> User:
        """A new, active account that signs in with a password."""
        return cls(user_id, email, full_name, role, True, password_hash, now, now)

    @classmethod
    def provision_external(
        cls,
        *,
        user_id: UserId,
        email: EmailAddress,
        full_name: FullName,
        role: Role,
        now: datetime,
        email_verified: bool = False,
    ) -> User:
        """A new, active account for someone an external identity provider vouches for; its
        address counts as verified when the provider says so."""
        return cls(
            user_id, email, full_name, role, True, None, now, now, email_verified=email_verified
        )

    @classmethod
    def create_without_password(
        cls,
        *,
        user_id: UserId,
        email: EmailAddress,
        full_name: FullName,
        role: Role,
        now: datetime,
    ) -> User:
        """A new, active account made by an admin: its owner sets a password by mail."""
        return cls(user_id, email, full_name, role, True, None, now, now)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, User):
            return NotImplemented
        return self.id == other.id

    def __hash__(self) -> int:
        return hash(self.id)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def is_active_admin(self) -> bool:
        return self.is_active and self.role is Role.ADMIN

    def rename(self, full_name: FullName, now: datetime) -> None:
        if full_name != self.full_name:
            self.full_name = full_name
            self.updated_at = now

    def change_role(self, role: Role, now: datetime) -> None:
        if role is not self.role:
            self.role = role
            self.updated_at = now

    def deactivate(self, now: datetime) -> None:
        if self.is_active:
            self.is_active = False
            self.updated_at = now

    def reactivate(self, now: datetime) -> None:
        if not self.is_active:
            self.is_active = True
            self.updated_at = now

    def change_password_hash(self, password_hash: HashedPassword, now: datetime) -> None:
        """Store a new hash: after a password change, or a rehash with stronger parameters."""
        self.password_hash = password_hash
        self.updated_at = now

    def enable_mfa(self, now: datetime) -> None:
        """From now on a password alone does not log in."""
        if not self.mfa_enabled:
            self.mfa_enabled = True
            self.updated_at = now

    def disable_mfa(self, now: datetime) -> None:
        """A password alone logs in again."""
        if self.mfa_enabled:
            self.mfa_enabled = False
            self.updated_at = now

    def mark_email_verified(self, now: datetime) -> None:
        """The owner proved they receive mail at the current address."""
        if not self.email_verified:
            self.email_verified = True
            self.updated_at = now

    def change_email(self, email: EmailAddress, now: datetime) -> None:
        """Take `email` as the address, confirmed by a link mailed to it, hence verified."""
        self.email = email
        self.email_verified = True
        self.updated_at = now
