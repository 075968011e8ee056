"""Scopes a client (service account) may hold on this service's API."""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    """What a client token may do here; `users:write` implies `users:read`."""

    USERS_READ = "users:read"
    USERS_WRITE = "users:write"


SUPPORTED_SCOPES: tuple[Scope, ...] = tuple(Scope)
