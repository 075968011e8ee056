"""Failures the application reports in its own words; adapters translate theirs into these."""


class ApplicationError(Exception):
    """Base of every error a use case raises on purpose."""


class EmailAlreadyRegistered(ApplicationError):
    """An account with this email (compared case-insensitively) exists."""


class InvalidCredentials(ApplicationError):
    """Wrong email or password, or an inactive account: one error for all, on purpose."""


class InvalidToken(ApplicationError):
    """The credential is not a valid, current access token or API key."""


class AccountDisabled(ApplicationError):
    """The credential is valid but its account is deactivated."""


class Forbidden(ApplicationError):
    """The principal lacks the role the operation needs."""


class UserNotFound(ApplicationError):
    """No user has this id."""


class PreconditionFailed(ApplicationError):
    """The client's `If-Match` does not match the resource's current version."""


class ConcurrentUpdate(ApplicationError):
    """Someone else changed the record between our read and our write."""


class InvalidCursor(ApplicationError):
    """The pagination cursor was not issued by this service."""


class InvalidPageSize(ApplicationError):
    """The page size is outside the bounds a listing serves."""


class StorageUnavailable(ApplicationError):
    """A backing store (database, cache) cannot be reached right now."""


class StorageNotMigrated(StorageUnavailable):
    """The database answers but lacks the service's tables: its migrations were never run."""


class InvalidCurrentPassword(ApplicationError):
    """A password change named the wrong current password."""


class ApiKeyNotFound(ApplicationError):
    """The caller has no API key with this id."""


class ApiKeyLimitReached(ApplicationError):
    """The caller holds as many API keys as one account may."""


class ExternalIdentityTaken(ApplicationError):
    """Another request linked this external identity first."""
