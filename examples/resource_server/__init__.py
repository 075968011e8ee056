"""A resource server that verifies accounts' access tokens locally (see README.md)."""

from examples.resource_server.app import create_app
from examples.resource_server.auth import AccessTokenVerifier, Caller, InvalidAccessToken

__all__ = ["AccessTokenVerifier", "Caller", "InvalidAccessToken", "create_app"]
