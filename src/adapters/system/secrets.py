"""Secrets from the operating system's CSPRNG (`secrets`)."""

from __future__ import annotations

import secrets

from application.ports import SecretGenerator


class OsSecretGenerator(SecretGenerator):
    """Refresh tokens and API keys are drawn here; never from `random`."""

    def token(self, nbytes: int) -> str:
        return secrets.token_urlsafe(nbytes)

    def choice(self, alphabet: str, length: int) -> str:
        return "".join(secrets.choice(alphabet) for _ in range(length))
