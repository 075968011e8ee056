"""Every operation the app serves, read from its router, so new routes are covered unasked."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from entrypoints.http.dependencies import (
    admin_principal,
    authenticate,
    authenticate_bearer,
    bearer_admin_principal,
    users_reader_principal,
    users_writer_principal,
)

SOME_ID = "00000000-0000-7000-8000-000000000000"


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    route: Any

    @property
    def url(self) -> str:
        """The path with every parameter filled with a well-formed id or code."""
        url = self.path
        for name in ("user_id", "key_id", "api_key_id", "id"):
            url = url.replace("{" + name + "}", SOME_ID)
        url = url.replace("{client_id}", "cli_aaaaaaaaaaaaaaaa")
        return url.replace("{code}", "not_found")

    @property
    def documented(self) -> bool:
        return bool(getattr(self.route, "include_in_schema", False))

    def depends_on(self, dependency: Callable[..., Any]) -> bool:
        """Whether `dependency` is anywhere in the route's dependency tree (wrapped or not)."""
        if not isinstance(self.route, APIRoute):
            return False
        return _in_tree(self.route.dependant, dependency)

    @property
    def needs_admin(self) -> bool:
        return any(
            self.depends_on(dependency)
            for dependency in (
                admin_principal,
                bearer_admin_principal,
                users_reader_principal,
                users_writer_principal,
            )
        )

    @property
    def opens_to_clients(self) -> bool:
        """Whether a client's token with the right scope may call it (the user routes)."""
        return self.depends_on(users_reader_principal) or self.depends_on(users_writer_principal)

    @property
    def needs_credentials(self) -> bool:
        # Every principal dependency wraps one of these; credential-management routes use
        # `authenticate_bearer`, which offers only the bearer scheme in the OpenAPI document.
        return self.depends_on(authenticate) or self.depends_on(authenticate_bearer)


def _in_tree(dependant: Dependant, dependency: Callable[..., Any]) -> bool:
    call = dependant.call
    # `throttled(authenticate)` wraps the dependency; functools.wraps keeps the original.
    if call is dependency or getattr(call, "__wrapped__", None) is dependency:
        return True
    return any(_in_tree(sub, dependency) for sub in dependant.dependencies)


def operations(app: FastAPI) -> list[Operation]:
    """Every (method, path) the app routes, HEAD left out (it follows GET)."""
    found = []
    for context in iter_route_contexts(app.routes):
        path, methods = context.path, context.methods
        if path is None or methods is None:
            continue
        found += [Operation(m, path, context.original_route) for m in sorted(methods - {"HEAD"})]
    return found
