"""What the application asks of the world, as `typing.Protocol` classes."""

from application.ports.persistence import UnitOfWork, UnitOfWorkFactory, UserRepository
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
from application.ports.system import Clock, IdGenerator

__all__ = [
    "AccessToken",
    "AccessTokenClaims",
    "Clock",
    "ExternalIdentity",
    "ExternalTokenVerifier",
    "IdGenerator",
    "PasswordHasher",
    "PasswordVerification",
    "TokenIssuer",
    "TokenVerifier",
    "UnitOfWork",
    "UnitOfWorkFactory",
    "UserRepository",
]
