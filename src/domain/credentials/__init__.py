"""Credentials a user holds besides the password: refresh tokens, API keys and one-time
tokens sent by mail."""

from domain.credentials.api_keys import API_KEY_PREFIX, ApiKey, ApiKeyId, ApiKeyName, ParsedApiKey
from domain.credentials.one_time_tokens import (
    ONE_TIME_TOKEN_BYTES,
    OneTimeToken,
    OneTimeTokenId,
    TokenPurpose,
)
from domain.credentials.refresh_tokens import RefreshToken, RefreshTokenId
from domain.credentials.secrets import SecretDigest

__all__ = [
    "API_KEY_PREFIX",
    "ONE_TIME_TOKEN_BYTES",
    "ApiKey",
    "ApiKeyId",
    "ApiKeyName",
    "OneTimeToken",
    "OneTimeTokenId",
    "ParsedApiKey",
    "RefreshToken",
    "RefreshTokenId",
    "SecretDigest",
    "TokenPurpose",
]
