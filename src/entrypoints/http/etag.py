"""Entity tags from user versions, and `If-Match` parsing."""

from __future__ import annotations

import re

from domain.users import User

_TAG = re.compile(r'\s*(W/)?"v(\d{1,18})"\s*')


def etag_of(user: User) -> str:
    """A strong ETag that changes with every committed change of the user."""
    return f'"v{user.version}"'


def parse_if_match(header: str | None) -> frozenset[int] | None:
    """Versions `If-Match` accepts; None when absent or `*` (any current version).

    Weak tags never match (If-Match uses strong comparison), and a tag we never issued
    matches nothing, so a garbled header fails safe with 412.
    """
    if header is None or header.strip() == "*":
        return None
    versions = set()
    for part in header.split(","):
        match = _TAG.fullmatch(part)
        if match and not match.group(1):
            versions.add(int(match.group(2)))
    return frozenset(versions)
