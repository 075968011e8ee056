"""Authorization server metadata (RFC 8414): where resource servers and clients find us."""

from __future__ import annotations

from typing import Any

from domain.clients import SUPPORTED_SCOPES
from entrypoints.settings import Settings

MFA_GRANT_TYPE = "urn:accounts:params:oauth:grant-type:mfa"
CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
JWKS_PATH = "/.well-known/jwks.json"
# What our access tokens may carry (CONTRACT §5): user tokens and client tokens together.
CLAIMS_SUPPORTED = [
    "iss",
    "aud",
    "sub",
    "exp",
    "iat",
    "jti",
    "role",
    "sid",
    "auth_time",
    "amr",
    "email_verified",
    "client_id",
    "scope",
]


def authorization_server_metadata(settings: Settings) -> dict[str, Any]:
    """The metadata document, built from settings only: it changes with a restart, never a request.

    Only what the service does: no authorization endpoint (so no response types), no ID tokens.
    """
    base = settings.effective_public_url
    metadata: dict[str, Any] = {
        "issuer": settings.effective_issuer,
        "token_endpoint": f"{base}/api/v1/auth/token",
        "jwks_uri": f"{base}{JWKS_PATH}",
        "revocation_endpoint": f"{base}/api/v1/auth/revoke",
        "introspection_endpoint": f"{base}/api/v1/auth/introspect",
        "grant_types_supported": [
            "password",
            "refresh_token",
            "client_credentials",
            MFA_GRANT_TYPE,
        ],
        "token_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        # RFC 7009 revocation here needs no client authentication (CONTRACT §4).
        "revocation_endpoint_auth_methods_supported": ["none"],
        "introspection_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "scopes_supported": [scope.value for scope in SUPPORTED_SCOPES],
        "response_types_supported": [],
        "claims_supported": CLAIMS_SUPPORTED,
    }
    if settings.docs_served:
        metadata["service_documentation"] = f"{base}/docs"
    return metadata
