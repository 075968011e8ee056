"""Errors the domain raises when one of its rules would be broken.

Each carries its stable `code`: the key of its entry in the error registry of the HTTP edge,
or, for an `InvalidValue`, the code of its field in a 422's `errors`.
"""

from typing import ClassVar


class DomainError(Exception):
    """Base of every business-rule violation; `code` names its problem at the edge."""

    code: ClassVar[str] = "internal_error"


class InvalidValue(DomainError):
    """A value object refused its input; `field` names the concept, `code` is stable."""

    field: str = "value"
    code = "invalid_value"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        if field is not None:
            self.field = field


class InvalidEmail(InvalidValue):
    """The text is not a usable email address."""

    field = "email"
    code = "invalid_email"


class InvalidFullName(InvalidValue):
    """The full name is too long or holds control characters."""

    field = "full_name"
    code = "invalid_full_name"


class WeakPassword(InvalidValue):
    """The password breaks the password policy."""

    field = "password"
    code = "weak_password"


class LastActiveAdmin(DomainError):
    """The change would leave the service without an active admin."""

    code = "last_admin"


class InvalidApiKeyName(InvalidValue):
    """The API key's name is empty, too long or holds control characters."""

    field = "name"
    code = "invalid_api_key_name"


class InvalidExpiry(InvalidValue):
    """An expiry that is not in the future."""

    field = "expires_at"
    code = "invalid_expiry"


class RefreshTokenReused(DomainError):
    """A refresh token was presented again after it had been rotated: its session is ended."""

    code = "invalid_grant"


class RefreshTokenExpired(DomainError):
    """The refresh token, or the login session it belongs to, has expired or was ended."""

    code = "invalid_grant"


class InvalidLink(DomainError):
    """A mailed link's token is unknown, expired, already used or no longer applies."""

    code = "invalid_link"


class InvalidClientName(InvalidValue):
    """The client's name is empty, too long or holds control characters."""

    field = "name"
    code = "invalid_client_name"


class ScopeNotGranted(DomainError):
    """A client asked for a scope it does not hold (RFC 6749 `invalid_scope`)."""

    code = "invalid_scope"
