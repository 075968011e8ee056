"""What the application asks of the world, as `typing.Protocol` classes."""

from application.ports.persistence import (
    ApiKeyRepository,
    AuditEventFilter,
    AuditLog,
    ExternalIdentityRepository,
    PrincipalReader,
    RefreshTokenRepository,
    UnitOfWork,
    UnitOfWorkFactory,
    UserRepository,
)
from application.ports.security import (
    AccessToken,
    AccessTokenClaims,
    ExternalIdentity,
    ExternalTokenVerifier,
    PasswordHasher,
    PasswordVerification,
    Pseudonymizer,
    TokenIssuer,
    TokenVerifier,
)
from application.ports.system import Clock, IdGenerator, SecretGenerator

__all__ = [
    "AccessToken",
    "AccessTokenClaims",
    "ApiKeyRepository",
    "AuditEventFilter",
    "AuditLog",
    "Clock",
    "ExternalIdentity",
    "ExternalIdentityRepository",
    "ExternalTokenVerifier",
    "IdGenerator",
    "PasswordHasher",
    "PasswordVerification",
    "PrincipalReader",
    "Pseudonymizer",
    "RefreshTokenRepository",
    "SecretGenerator",
    "TokenIssuer",
    "TokenVerifier",
    "UnitOfWork",
    "UnitOfWorkFactory",
    "UserRepository",
]
