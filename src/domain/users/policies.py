"""Rules that span more than one field or more than one user."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from domain.errors import LastActiveAdmin, WeakPassword
from domain.users.entities import User
from domain.users.values import EmailAddress, UserId

ABSOLUTE_MAX_PASSWORD_LENGTH = 128


@dataclass(frozen=True, slots=True)
class PasswordPolicy:
    """NIST SP 800-63B-4 password rules: length only, plus a blocklist and context words.

    No composition rules and no forced rotation: those make passwords weaker, not stronger.
    """

    min_length: int = 15
    max_length: int = ABSOLUTE_MAX_PASSWORD_LENGTH
    blocklist: frozenset[str] = field(default=frozenset(), repr=False)
    context_words: tuple[str, ...] = ("accounts",)

    def __post_init__(self) -> None:
        if not 8 <= self.min_length <= self.max_length <= ABSOLUTE_MAX_PASSWORD_LENGTH:
            raise ValueError("Password policy needs 8 <= min_length <= max_length <= 128.")
        # check() compares the casefolded password, so entries must be casefolded to match.
        object.__setattr__(self, "blocklist", frozenset(w.casefold() for w in self.blocklist))

    def check(self, password: str, *, email: EmailAddress | None = None) -> None:
        """Raise `WeakPassword` when the password may not be used."""
        length = len(password)
        if length < self.min_length:
            raise WeakPassword(f"Password must be at least {self.min_length} characters long.")
        if length > self.max_length:
            raise WeakPassword(f"Password must be at most {self.max_length} characters long.")
        folded = password.casefold()
        if folded in self.blocklist or len(set(folded)) <= 2:
            raise WeakPassword("Password is too common or too easy to guess; choose another.")
        words = [w.casefold() for w in self.context_words]
        if email is not None:
            words += [email.normalized, email.normalized.split("@", 1)[0]]
        if any(folded == w or (len(w) >= 4 and folded.replace(w, "") == "") for w in words):
            raise WeakPassword("Password must not be your email address or the service's name.")


def ensure_an_active_admin_remains(
    user: User, *, was_active_admin: bool, active_admin_ids: Collection[UserId]
) -> None:
    """Refuse a change that takes away the last active admin.

    `active_admin_ids` must be read under a lock that holds until the change commits, so two
    admins demoting each other at the same moment cannot both see the other as remaining.
    """
    if was_active_admin and not user.is_active_admin:
        others = [admin_id for admin_id in active_admin_ids if admin_id != user.id]
        if not others:
            raise LastActiveAdmin("The change would leave no active admin.")


def ensure_deletion_leaves_an_admin(user: User, *, active_admin_ids: Collection[UserId]) -> None:
    """Refuse to delete the last active admin (`active_admin_ids` read under a lock)."""
    if user.is_active_admin and not [a for a in active_admin_ids if a != user.id]:
        raise LastActiveAdmin("Deleting this account would leave no active admin.")
