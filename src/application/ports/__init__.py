"""What the application asks of the world, as `typing.Protocol` classes."""

from application.ports.persistence import (
    ApiKeyRepository,
    ExternalIdentityLink,
    ExternalIdentityRepository,
    PrincipalReader,
    RefreshTokenRepository,
    SessionRepository,
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
    TokenIssuer,
    TokenVerifier,
)
from application.ports.system import Clock, IdGenerator, SecretGenerator

__all__ = [
    "AccessToken",
    "AccessTokenClaims",
    "ApiKeyRepository",
    "Clock",
    "ExternalIdentity",
    "ExternalIdentityLink",
    "ExternalIdentityRepository",
    "ExternalTokenVerifier",
    "IdGenerator",
    "PasswordHasher",
    "PasswordVerification",
    "PrincipalReader",
    "RefreshTokenRepository",
    "SecretGenerator",
    "SessionRepository",
    "TokenIssuer",
    "TokenVerifier",
    "UnitOfWork",
    "UnitOfWorkFactory",
    "UserRepository",
]
