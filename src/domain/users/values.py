"""Value objects of the user aggregate: frozen, slotted, validated on creation."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NewType
from uuid import UUID

from domain.errors import InvalidEmail, InvalidFullName

UserId = NewType("UserId", UUID)

MAX_EMAIL_LENGTH = 254
MAX_LOCAL_PART_LENGTH = 64
MAX_FULL_NAME_LENGTH = 200

# Deliberately simple: RFC 5322 allows far more than any mailbox provider accepts, and the only
# real proof of an address is a message that arrives. This rejects what is certainly wrong.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL_PART = rf"{_ATOM}(?:\.{_ATOM})*"
_DOMAIN_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"

# The rules below again as regexes that ECMA-262 and Python read alike, for documents that
# describe these values (the OpenAPI schema); tests hold each to its value object.
# What `str.strip` and `str.split` take for whitespace, as a character class's contents.
WHITESPACE = (
    r"\u0009-\u000d\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
)
# What names refuse below U+0100 (the controls, Cc, and the soft hyphen, Cf), and that less
# the whitespace, which full names fold.
UNPRINTABLE = r"\u0000-\u001f\u007f-\u009f\u00ad"
_UNPRINTABLE_NOT_WHITESPACE = r"\u0000-\u0008\u000e-\u001b\u007f-\u0084\u0086-\u009f\u00ad"
EMAIL_PATTERN = (
    rf"^[{WHITESPACE}]*(?=[^@]{{1,{MAX_LOCAL_PART_LENGTH}}}@){_LOCAL_PART}"
    rf"@(?:{_DOMAIN_LABEL}\.)+(?![0-9]+[{WHITESPACE}]*$){_DOMAIN_LABEL}[{WHITESPACE}]*$"
)
# Beyond U+0100 the format, private-use and unassigned characters are no portable regex.
FULL_NAME_PATTERN = rf"^[^{_UNPRINTABLE_NOT_WHITESPACE}]*$"


class Role(StrEnum):
    """What a user may do: `admin` manages other users, `user` only itself."""

    USER = "user"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True, eq=False)
class EmailAddress:
    """An email address, kept as written but compared and looked up case-insensitively."""

    value: str
    normalized: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        value = self.value.strip() if isinstance(self.value, str) else self.value
        if not isinstance(value, str) or not value:
            raise InvalidEmail("Email address is empty.")
        if len(value) > MAX_EMAIL_LENGTH:
            raise InvalidEmail(f"Email address is longer than {MAX_EMAIL_LENGTH} characters.")
        local, sep, domain = value.rpartition("@")
        if not sep or not local or not domain:
            raise InvalidEmail("Email address must look like name@example.com.")
        # fullmatch, not match: `$` would also accept a trailing newline before the end.
        if len(local) > MAX_LOCAL_PART_LENGTH or not re.fullmatch(_LOCAL_PART, local):
            raise InvalidEmail("The part before '@' is not valid.")
        labels = domain.split(".")
        if len(labels) < 2 or not all(re.fullmatch(_DOMAIN_LABEL, label) for label in labels):
            raise InvalidEmail("The domain after '@' is not valid.")
        if re.fullmatch("[0-9]+", labels[-1]):
            raise InvalidEmail("The domain after '@' is not valid.")
        written = f"{local}@{domain.lower()}"
        object.__setattr__(self, "value", written)
        object.__setattr__(self, "normalized", written.lower())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EmailAddress):
            return NotImplemented
        return self.normalized == other.normalized

    def __hash__(self) -> int:
        return hash(self.normalized)

    def __str__(self) -> str:
        return self.value


# Zero-width (non-)joiners are format characters that Persian, Arabic and Indic names need to
# render correctly; every other format character (bidi overrides among them) can disguise a name.
_NAME_JOINERS = frozenset({"\u200c", "\u200d"})
_FORBIDDEN_IN_NAMES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


def _forbidden_in_name(char: str) -> bool:
    return unicodedata.category(char) in _FORBIDDEN_IN_NAMES and char not in _NAME_JOINERS


@dataclass(frozen=True, slots=True)
class FullName:
    """A display name: trimmed, at most 200 characters, no control characters; may be empty."""

    value: str

    def __post_init__(self) -> None:
        if not isinstance(self.value, str):
            raise InvalidFullName("Full name must be text.")
        value = " ".join(self.value.split())
        if len(value) > MAX_FULL_NAME_LENGTH:
            raise InvalidFullName(f"Full name is longer than {MAX_FULL_NAME_LENGTH} characters.")
        if any(_forbidden_in_name(ch) for ch in value):
            raise InvalidFullName("Full name holds control or unassigned characters.")
        object.__setattr__(self, "value", value)

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class HashedPassword:
    """A password hash in PHC string format; never the password itself."""

    value: str = field(repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.value, str) or not self.value.startswith("$"):
            raise ValueError("A hashed password is a PHC string starting with '$'.")

    def __repr__(self) -> str:
        return "HashedPassword(<redacted>)"
