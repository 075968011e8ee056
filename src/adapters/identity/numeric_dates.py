"""RFC 7519 NumericDate claims (`exp`, `iat`) read strictly, for our own and external tokens."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from application.errors import InvalidToken

MALFORMED_TIME = "The token's times are malformed."


def numeric_date(claims: Mapping[str, object], name: str) -> datetime:
    """The instant claim `name` names: a JSON number of seconds (fractions allowed) since the
    epoch that a date can hold; a string, a boolean or a number beyond year 9999 is refused."""
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidToken(MALFORMED_TIME)
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, ValueError, OSError) as exc:
        raise InvalidToken(MALFORMED_TIME) from exc
