"""Clients: other services that call this one on their own behalf (OAuth 2.0 client credentials)."""

from domain.clients.scopes import SUPPORTED_SCOPES, Scope

__all__ = ["SUPPORTED_SCOPES", "Scope"]
