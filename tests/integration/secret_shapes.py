"""What a secret looks like, for sweeping stored audit events: tokens, keys, passwords."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from domain.credentials.api_keys import API_KEY_PREFIX

# An access token (a JWT), an API key, and a refresh token (32 random bytes in base64url).
_SHAPES = {
    "jwt": re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\."),
    "api key": re.compile(rf"{API_KEY_PREFIX}[A-Za-z0-9]+_[A-Za-z0-9_-]{{20,}}"),
    "refresh token": re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])"),
}
_SECRET_WORDS = ("password", "token", "secret", "code")
# The passwords the integration tests use most; any of them in an event is a leak.
_KNOWN_PASSWORDS = ("correct-horse-battery-staple-42", "tangerine-umbrella-quietly-1987")


def secrets_in_event(row: Mapping[str, Any]) -> Iterator[str]:
    """Each reason this stored event (a row of `audit_events`) looks like it holds a secret."""
    text = json.dumps({name: str(value) for name, value in _without_key_ids(row).items()})
    for name, shape in _SHAPES.items():
        if shape.search(text):
            yield f"{row['type']} {row['id']}: a {name}"
    for password in _KNOWN_PASSWORDS:
        if password in text:
            yield f"{row['type']} {row['id']}: a test password"
    yield from (f"{row['type']} {row['id']}: detail {key!r}" for key in _keys(row["details"]))


def _without_key_ids(row: Mapping[str, Any]) -> dict[str, Any]:
    """The row without a signing key's `kid` (a public RFC 7638 thumbprint, shaped like a
    refresh token), which `signing_key.rotated` records by design."""
    details = row.get("details")
    if isinstance(details, dict) and "kid" in details:
        return {**row, "details": {k: v for k, v in details.items() if k != "kid"}}
    return dict(row)


def _keys(details: Any) -> Iterator[str]:
    """Keys of `details`, at any depth, whose name says they hold a secret."""
    if isinstance(details, dict):
        for key, value in details.items():
            if any(word in key.lower() for word in _SECRET_WORDS):
                yield key
            yield from _keys(value)
    elif isinstance(details, list):
        for item in details:
            yield from _keys(item)
