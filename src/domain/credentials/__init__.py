"""Credentials a user holds besides the password: refresh tokens and API keys."""

from domain.credentials.api_keys import API_KEY_PREFIX, ApiKey, ApiKeyId, ApiKeyName, ParsedApiKey
from domain.credentials.refresh_tokens import RefreshToken, RefreshTokenId
from domain.credentials.secrets import SecretDigest

__all__ = [
    "API_KEY_PREFIX",
    "ApiKey",
    "ApiKeyId",
    "ApiKeyName",
    "ParsedApiKey",
    "RefreshToken",
    "RefreshTokenId",
    "SecretDigest",
]
