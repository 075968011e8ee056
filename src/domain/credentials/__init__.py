"""Credentials a user holds besides the password: refresh-token sessions and API keys."""

from domain.credentials.api_keys import API_KEY_PREFIX, ApiKey, ApiKeyId, ApiKeyName, ParsedApiKey
from domain.credentials.refresh_tokens import (
    RefreshToken,
    RefreshTokenFamily,
    RefreshTokenFamilyId,
    RefreshTokenId,
)
from domain.credentials.secrets import SecretDigest

__all__ = [
    "API_KEY_PREFIX",
    "ApiKey",
    "ApiKeyId",
    "ApiKeyName",
    "ParsedApiKey",
    "RefreshToken",
    "RefreshTokenFamily",
    "RefreshTokenFamilyId",
    "RefreshTokenId",
    "SecretDigest",
]
