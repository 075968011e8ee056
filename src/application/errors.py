"""Failures the application reports in its own words; adapters translate theirs into these.

Each carries its stable `code`: the key of its entry in the error registry of the HTTP edge.
"""

from typing import ClassVar


class ApplicationError(Exception):
    """Base of every error a use case raises on purpose; `code` names its problem at the edge."""

    code: ClassVar[str] = "internal_error"


class EmailAlreadyRegistered(ApplicationError):
    """An account with this email (compared case-insensitively) exists."""

    code = "email_taken"


class InvalidCredentials(ApplicationError):
    """Wrong email or password, or an inactive account: one error for all, on purpose."""

    code = "invalid_grant"


class InvalidToken(ApplicationError):
    """The credential is not a valid, current access token or API key."""

    code = "invalid_token"


class AccountDisabled(ApplicationError):
    """The credential is valid but its account is deactivated."""

    code = "account_disabled"


class Forbidden(ApplicationError):
    """The principal lacks the role the operation needs."""

    code = "forbidden"


class UserNotFound(ApplicationError):
    """No user has this id."""

    code = "user_not_found"


class PreconditionFailed(ApplicationError):
    """The client's `If-Match` does not match the resource's current version."""

    code = "precondition_failed"


class ConcurrentUpdate(ApplicationError):
    """Someone else changed the record between our read and our write."""

    code = "precondition_failed"


class InvalidParameter(ApplicationError):
    """A listing's parameter was refused: `parameter` names it, `code` says why (a 422 field)."""

    parameter: ClassVar[str]


class InvalidCursor(InvalidParameter):
    """The pagination cursor was not issued by this service."""

    parameter = "cursor"
    code = "invalid_cursor"


class InvalidPageSize(InvalidParameter):
    """The page size is outside the bounds a listing serves."""

    parameter = "limit"
    code = "invalid_limit"


class StorageUnavailable(ApplicationError):
    """A backing store (database, cache) cannot be reached right now."""

    code = "service_unavailable"


class StorageNotMigrated(StorageUnavailable):
    """The database answers but lacks the service's tables: its migrations were never run."""


class InvalidCurrentPassword(ApplicationError):
    """A password change named the wrong current password."""

    code = "invalid_current_password"


class ApiKeyNotFound(ApplicationError):
    """The caller has no API key with this id."""

    code = "api_key_not_found"


class ApiKeyLimitReached(ApplicationError):
    """The caller holds as many API keys as one account may."""

    code = "api_key_limit_reached"


class SessionNotFound(ApplicationError):
    """The caller has no login session with this id (another user's counts as none)."""

    code = "session_not_found"


class ReauthenticationRequired(ApplicationError):
    """The caller's login is older than the operation allows; `max_age` is that limit in
    seconds (RFC 9470)."""

    code = "reauthentication_required"

    def __init__(self, message: str, *, max_age: int) -> None:
        super().__init__(message)
        self.max_age = max_age


class AccountDeleted(InvalidToken):
    """The account a write refers to was deleted while the request ran."""


class ExternalIdentityTaken(ApplicationError):
    """Another request linked this external identity first."""

    code = "invalid_token"


class InvalidOneTimeCode(ApplicationError):
    """A wrong, reused or malformed one-time code (TOTP or recovery code), or no factor to
    check it against."""

    code = "invalid_otp"


class MfaAlreadyEnabled(ApplicationError):
    """The caller's second factor is on already: turn it off before enrolling again."""

    code = "mfa_already_enabled"


class SecondFactorUnavailable(ApplicationError):
    """The service holds no key to seal or open second-factor secrets with (an operator must
    set `KEY_ENCRYPTION_KEY`, or restore the one the secrets were sealed with)."""

    code = "service_unavailable"


class InsufficientScope(Forbidden):
    """A client's token lacks the scope an operation needs; `scope` names it, or is None
    where no scope opens the operation to clients."""

    def __init__(self, message: str, *, scope: str | None = None) -> None:
        super().__init__(message)
        self.scope = scope


class InvalidClient(ApplicationError):
    """Client authentication failed: unknown client, wrong secret or no credentials (RFC 6749
    `invalid_client`); one error for all, on purpose."""

    code = "invalid_client"


class ClientNotFound(ApplicationError):
    """No client has this id."""

    code = "client_not_found"


class SigningKeysUnreadable(ApplicationError):
    """The stored signing keys do not open with the key-encryption key (lost or changed), or
    there is no key to seal them with: tokens cannot be signed."""

    code = "service_unavailable"


class NoSigningKey(ApplicationError):
    """No managed key signs at this moment (none was made yet, or all were retired)."""

    code = "service_unavailable"
