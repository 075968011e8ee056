"""API keys: long-lived credentials for machine clients, acting as their owner.

A key reads `acc_<10 chars>_<secret>`. The part up to the second underscore is the public
prefix: it is stored in clear, shown in listings and used to find the key; the whole key is
stored only as a digest and compared in constant time.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar, NewType
from uuid import UUID

from domain.credentials.secrets import SecretDigest
from domain.errors import InvalidApiKeyName, InvalidExpiry
from domain.users import UserId
from domain.users.values import UNPRINTABLE, WHITESPACE

ApiKeyId = NewType("ApiKeyId", UUID)

API_KEY_PREFIX = "acc_"
PREFIX_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
PREFIX_RANDOM_LENGTH = 10
MIN_SECRET_LENGTH = 32
MAX_NAME_LENGTH = 100
MAX_KEY_LENGTH = 256

_KEY = re.compile(
    rf"^(?P<prefix>{API_KEY_PREFIX}[{PREFIX_ALPHABET}]{{{PREFIX_RANDOM_LENGTH}}})"
    rf"_(?P<secret>[A-Za-z0-9_-]{{{MIN_SECRET_LENGTH},}})$"
)


_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
# The rule below as a regex for documents (see `domain.users.values`): whitespace around a
# name that holds something else, and nothing unprintable inside it.
API_KEY_NAME_PATTERN = (
    rf"^[{WHITESPACE}]*[^{UNPRINTABLE}{WHITESPACE}](?:[^{UNPRINTABLE}]*[^{UNPRINTABLE}{WHITESPACE}])?"
    rf"[{WHITESPACE}]*$"
)


@dataclass(frozen=True, slots=True)
class ApiKeyName:
    """A label the owner chooses, to tell their keys apart."""

    value: str

    def __post_init__(self) -> None:
        text = self.value.strip()
        if not text:
            raise InvalidApiKeyName("The key needs a name.")
        if len(text) > MAX_NAME_LENGTH:
            raise InvalidApiKeyName(f"The name has more than {MAX_NAME_LENGTH} characters.")
        # Format characters too: a right-to-left override could make one key's name read
        # like another's in a listing.
        if any(unicodedata.category(char) in _INVISIBLE for char in text):
            raise InvalidApiKeyName("The name holds control or invisible characters.")
        object.__setattr__(self, "value", text)

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class ParsedApiKey:
    """A presented key split into the prefix that finds it and the whole it is checked with."""

    prefix: str
    key: str = field(repr=False)

    @classmethod
    def parse(cls, key: str) -> ParsedApiKey | None:
        """The parts of a well-formed key, or None for anything else."""
        if len(key) > MAX_KEY_LENGTH:
            return None
        match = _KEY.fullmatch(key)
        if match is None:
            return None
        return cls(prefix=match["prefix"], key=key)

    @staticmethod
    def compose(random_part: str, secret: str) -> str:
        """The full key for a new prefix's random part and a secret."""
        key = f"{API_KEY_PREFIX}{random_part}_{secret}"
        if ParsedApiKey.parse(key) is None:
            raise ValueError("The random part or the secret does not fit the key format.")
        return key


@dataclass(eq=False, slots=True)
class ApiKey:
    """A stored API key; compared by id.

    `last_used_at` is approximate on purpose: it moves at most once per `USAGE_RESOLUTION`,
    so a busy key does not turn every request into a write.
    """

    USAGE_RESOLUTION: ClassVar[timedelta] = timedelta(minutes=1)

    id: ApiKeyId
    user_id: UserId
    name: ApiKeyName
    prefix: str
    digest: SecretDigest = field(repr=False)
    created_at: datetime
    expires_at: datetime | None = None
    last_used_at: datetime | None = None

    @classmethod
    def create(
        cls,
        *,
        key_id: ApiKeyId,
        user_id: UserId,
        name: ApiKeyName,
        key: str,
        now: datetime,
        expires_at: datetime | None,
    ) -> ApiKey:
        """A new key for `user_id`; `key` is the full secret, kept only as its digest."""
        parsed = ParsedApiKey.parse(key)
        if parsed is None:
            raise ValueError("Not a well-formed API key.")
        if expires_at is not None and expires_at <= now:
            raise InvalidExpiry("The expiry must be in the future.")
        return cls(
            id=key_id,
            user_id=user_id,
            name=name,
            prefix=parsed.prefix,
            digest=SecretDigest.of(key),
            created_at=now,
            expires_at=expires_at,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ApiKey):
            return NotImplemented
        return self.id == other.id

    def __hash__(self) -> int:
        return hash(self.id)

    def accepts(self, presented: ParsedApiKey, now: datetime) -> bool:
        """Whether `presented` is this key and the key has not expired."""
        matches = self.digest.matches(presented.key)
        return matches and presented.prefix == self.prefix and not self.is_expired(now)

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def record_use(self, now: datetime) -> bool:
        """Note a use; True when the stored `last_used_at` is stale enough to be written."""
        if self.last_used_at is not None and now - self.last_used_at < self.USAGE_RESOLUTION:
            return False
        self.last_used_at = now
        return True
