"""Clients: other services that call this one on their own behalf (OAuth 2.0 client credentials)."""

from domain.clients.clients import (
    CLIENT_ID_ALPHABET,
    CLIENT_ID_PREFIX,
    CLIENT_ID_RANDOM_LENGTH,
    CLIENT_SECRET_BYTES,
    MAX_CLIENT_NAME_LENGTH,
    Client,
    ClientId,
    ClientName,
    client_id_from,
    effective_scopes,
    is_client_id,
    parse_scope_text,
    scope_text,
    spend_dummy_comparison,
)
from domain.clients.scopes import SUPPORTED_SCOPES, Scope

__all__ = [
    "CLIENT_ID_ALPHABET",
    "CLIENT_ID_PREFIX",
    "CLIENT_ID_RANDOM_LENGTH",
    "CLIENT_SECRET_BYTES",
    "MAX_CLIENT_NAME_LENGTH",
    "SUPPORTED_SCOPES",
    "Client",
    "ClientId",
    "ClientName",
    "Scope",
    "client_id_from",
    "effective_scopes",
    "is_client_id",
    "parse_scope_text",
    "scope_text",
    "spend_dummy_comparison",
]
