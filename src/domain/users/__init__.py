"""The user aggregate and its value objects."""

from domain.users.entities import User
from domain.users.policies import (
    PasswordPolicy,
    ensure_an_active_admin_remains,
    ensure_deletion_leaves_an_admin,
)
from domain.users.values import EmailAddress, FullName, HashedPassword, Role, UserId

__all__ = [
    "EmailAddress",
    "FullName",
    "HashedPassword",
    "PasswordPolicy",
    "Role",
    "User",
    "UserId",
    "ensure_an_active_admin_remains",
    "ensure_deletion_leaves_an_admin",
]
