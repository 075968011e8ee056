"""Clients: service accounts that authenticate with an id and a secret and hold scopes.

A client id reads `cli_<16 chars>`: public, shown in listings and carried by its tokens. The
secret is high-entropy random text, stored only as a digest and compared in constant time.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import NewType

from domain.clients.scopes import Scope
from domain.credentials.secrets import SecretDigest
from domain.errors import InvalidClientName, ScopeNotGranted

ClientId = NewType("ClientId", str)

CLIENT_ID_PREFIX = "cli_"
CLIENT_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
CLIENT_ID_RANDOM_LENGTH = 16
CLIENT_SECRET_BYTES = 32
MIN_CLIENT_SECRET_LENGTH = 32
MAX_CLIENT_SECRET_LENGTH = 256
MAX_CLIENT_NAME_LENGTH = 100
_CLIENT_ID = re.compile(rf"^{CLIENT_ID_PREFIX}[{CLIENT_ID_ALPHABET}]{{{CLIENT_ID_RANDOM_LENGTH}}}$")
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
# Compared with an unknown client's presented secret, so a miss costs what a wrong secret does.
_DUMMY_DIGEST = SecretDigest.of("no client has this secret: it only spends a comparison")


def is_client_id(text: str) -> bool:
    """Whether `text` has the shape of a client id (never a UUID, so audit actors stay apart)."""
    return _CLIENT_ID.fullmatch(text) is not None


def client_id_from(random_part: str) -> ClientId:
    """The client id for a random part drawn from `CLIENT_ID_ALPHABET`."""
    client_id = f"{CLIENT_ID_PREFIX}{random_part}"
    if not is_client_id(client_id):
        raise ValueError("The random part does not fit the client id format.")
    return ClientId(client_id)


@dataclass(frozen=True, slots=True)
class ClientName:
    """A label the admin chooses, to tell clients apart."""

    value: str

    def __post_init__(self) -> None:
        text = self.value.strip()
        if not text:
            raise InvalidClientName("The client needs a name.")
        if len(text) > MAX_CLIENT_NAME_LENGTH:
            raise InvalidClientName(f"The name has more than {MAX_CLIENT_NAME_LENGTH} characters.")
        if any(unicodedata.category(char) in _INVISIBLE for char in text):
            raise InvalidClientName("The name holds control or invisible characters.")
        object.__setattr__(self, "value", text)

    def __str__(self) -> str:
        return self.value


def effective_scopes(scopes: Iterable[Scope]) -> frozenset[Scope]:
    """`scopes` with what they imply: `users:write` includes `users:read`."""
    held = frozenset(scopes)
    if Scope.USERS_WRITE in held:
        held |= {Scope.USERS_READ}
    return held


def scope_text(scopes: Iterable[Scope]) -> str:
    """The space-separated `scope` of RFC 6749 §3.3, in a stable order."""
    return " ".join(sorted(scope.value for scope in scopes))


def parse_scope_text(text: str) -> frozenset[Scope]:
    """The scopes a space-separated list names; raises `ScopeNotGranted` for unknown ones."""
    names = text.split(" ")
    if any(not name for name in names):
        raise ScopeNotGranted("Scopes are separated by single spaces.")
    try:
        return frozenset(Scope(name) for name in names)
    except ValueError as exc:
        raise ScopeNotGranted("The scope names a scope this service does not know.") from exc


@dataclass(eq=False, slots=True)
class Client:
    """A registered client; compared by id."""

    id: ClientId
    name: ClientName
    scopes: frozenset[Scope]
    digest: SecretDigest = field(repr=False)
    created_at: datetime

    @classmethod
    def register(
        cls,
        *,
        client_id: ClientId,
        name: ClientName,
        scopes: Iterable[Scope],
        secret: str,
        now: datetime,
    ) -> Client:
        """A new client; `secret` is kept only as its digest."""
        if not MIN_CLIENT_SECRET_LENGTH <= len(secret) <= MAX_CLIENT_SECRET_LENGTH:
            raise ValueError("A client secret has 32 to 256 characters.")
        held = frozenset(scopes)
        if not held:
            raise ValueError("A client holds at least one scope.")
        return cls(
            id=client_id,
            name=name,
            scopes=held,
            digest=SecretDigest.of(secret),
            created_at=now,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Client):
            return NotImplemented
        return self.id == other.id

    def __hash__(self) -> int:
        return hash(self.id)

    def authenticates(self, secret: str) -> bool:
        """Whether `secret` is this client's, compared in constant time."""
        return self.digest.matches(secret)

    def grant(self, requested: frozenset[Scope] | None) -> frozenset[Scope]:
        """The scopes a token gets: all the client's by default, else the requested subset.

        Raises `ScopeNotGranted` when a requested scope is beyond what the client holds.
        """
        if requested is None:
            return self.scopes
        if not requested:
            raise ScopeNotGranted("The scope parameter names no scope.")
        if not requested <= effective_scopes(self.scopes):
            raise ScopeNotGranted("The client does not hold every scope it asked for.")
        return requested


def spend_dummy_comparison(secret: str) -> None:
    """Compare `secret` with a digest no client has: an unknown client id takes as long as a
    wrong secret."""
    _DUMMY_DIGEST.matches(secret)
