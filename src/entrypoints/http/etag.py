"""Entity tags from user versions, and `If-Match` parsing."""

from __future__ import annotations

import re
from collections.abc import Sequence

from domain.users import User

# A member of an RFC 9110 §5.6.1 list: a comma inside a quoted string does not end it.
_LIST_MEMBER = re.compile(r'(?:[^,"]|"[^"]*")+')
# The strong tags `etag_of` issues, exactly as written: `"v01"` is not `"v1"`.
_OUR_TAG = re.compile(r'"v(0|[1-9][0-9]{0,17})"')


def etag_of(user: User) -> str:
    """A strong ETag that changes with every committed change of the user."""
    return f'"v{user.version}"'


def parse_if_match(field_lines: Sequence[str]) -> frozenset[int] | None:
    """Versions `If-Match` accepts; None when absent or `*` (any current version).

    RFC 9110 §5.3: the field's lines form one comma-separated list, so a tag on any line
    counts. `*` is a wildcard only as the whole field. Comparison is strong (§13.1.1): a weak
    tag, a tag we never issued or anything malformed matches nothing, so a garbled header
    fails safe with 412.
    """
    if not field_lines:
        return None
    value = ",".join(field_lines)
    if value.strip() == "*":
        return None
    versions = set()
    for member in _LIST_MEMBER.findall(value):
        tag = _OUR_TAG.fullmatch(member.strip())
        if tag:
            versions.add(int(tag.group(1)))
    return frozenset(versions)


def none_match_fails(field_lines: Sequence[str], etag: str) -> bool:
    """Whether `If-None-Match` names `etag` (or is `*`): the client's copy is current (304).

    RFC 9110 §13.1.2: the field's lines form one list; comparison is weak (`W/"x"` matches
    `"x"`); `*` matches any current representation.
    """
    if not field_lines:
        return False
    value = ",".join(field_lines)
    if value.strip() == "*":
        return True
    ours = etag.removeprefix("W/")
    return any(member.strip().removeprefix("W/") == ours for member in _LIST_MEMBER.findall(value))
