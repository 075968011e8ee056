"""The FastAPI application factory."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.middleware.cors import CORSMiddleware

from entrypoints import process
from entrypoints.container import Container, shutdown, start
from entrypoints.http.client_ip import ClientAddressResolver
from entrypoints.http.docs import install_docs
from entrypoints.http.error_handlers import install_error_handlers
from entrypoints.http.error_registry import MAX_LISTED_ERRORS
from entrypoints.http.middleware import BodySizeLimitMiddleware, EdgeMiddleware
from entrypoints.http.openapi import TAGS, build_openapi
from entrypoints.http.request_checks import MAX_JSON_VALUES
from entrypoints.http.routes import (
    api_keys,
    audit_events,
    auth,
    clients,
    discovery,
    errors,
    health,
    metrics,
    mfa,
    pages,
    sessions,
    users,
)
from entrypoints.logging import configure_logging
from entrypoints.settings import Settings

DESCRIPTION = f"""
Identity and accounts: register, log in with the OAuth2 password flow to get a signed JWT
access token, call the API with it, and manage users with role-based access control.

Every `/api/v1` response, errors included, carries `Cache-Control: no-store`: each holds
personal data or credentials, or answers a request that carried them.

Every error is an [RFC 9457](https://www.rfc-editor.org/rfc/rfc9457) problem
(`application/problem+json`) with a stable `code`; see [the error index](/errors).
A `validation_failed` problem lists at most {MAX_LISTED_ERRORS} invalid fields in `errors` and
counts the rest in `errors_omitted`; a JSON body may hold at most {MAX_JSON_VALUES} values (object
members and array items at every depth), and a larger one gets one `too_many_values` entry.
A query parameter is sent at most once: `?role=user&role=admin` is refused with a
`duplicate_parameter` entry naming it rather than guessed at (parameters an operation does
not declare are ignored).
"""

OPENAPI_URL = "/openapi.json"


class AccountsApi(FastAPI):
    """FastAPI with this service's OpenAPI document (see `build_openapi`)."""

    def openapi(self) -> dict[str, Any]:
        if not self.openapi_schema:
            self.openapi_schema = build_openapi(
                title=self.title,
                version=self.version,
                summary=self.summary,
                description=self.description,
                routes=self.routes,
                password_min_length=self.state.settings.accounts.password_min_length,
            )
        return self.openapi_schema


def create_app(
    settings: Settings,
    container: Container | None = None,
    *,
    freeze_startup_objects: bool = False,
) -> FastAPI:
    """Build the app; nothing is opened until the lifespan starts.

    `freeze_startup_objects`: for a server process serving this one app (`entrypoints.asgi`),
    not for tests that build many apps in one process; see `process.freeze_startup_objects`.
    """
    configure_logging(settings.logging.level, settings.effective_log_format)
    container = container or Container(settings=settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.provided = await start(container)
        if freeze_startup_objects:
            process.freeze_startup_objects()
        try:
            yield
        finally:
            await shutdown(container)

    docs = settings.docs_served
    app = AccountsApi(
        title="accounts",
        version="1.0.0",
        summary="Identity and accounts microservice",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_tags=TAGS,
        # /docs and /redoc are installed below with local assets instead of FastAPI's CDN ones.
        docs_url=None,
        redoc_url=None,
        openapi_url=OPENAPI_URL if docs else None,
        swagger_ui_init_oauth={"clientId": "swagger-ui"},
        swagger_ui_parameters={"persistAuthorization": False},
    )
    if docs:
        install_docs(app, openapi_url=OPENAPI_URL)
    app.state.container = container
    app.state.settings = settings
    app.state.error_docs_base_url = settings.effective_error_docs_base_url
    app.state.client_addresses = ClientAddressResolver(settings.http.trusted_proxies)
    install_error_handlers(app)

    add_routes(
        app,
        auth.router,
        users.router,
        sessions.router,
        api_keys.router,
        mfa.router,
        audit_events.router,
        clients.router,
        health.router,
        discovery.router,
        errors.router,
        pages.router,
    )
    # With a metrics port, Prometheus scrapes there, never through the API's port or a proxy.
    if settings.http.metrics_port is None:
        add_routes(app, metrics.router)

    # Added innermost first: the edge middleware wraps everything, so even a 413
    # or a CORS preflight carries the request id and security headers, and is counted.
    app.add_middleware(BodySizeLimitMiddleware, max_body_bytes=settings.http.max_body_bytes)
    if settings.http.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.http.cors_origins,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "If-Match",
                "X-API-Key",
                "X-Request-ID",
            ],
            expose_headers=[
                "ETag",
                "Location",
                "Retry-After",
                "X-Request-ID",
                "RateLimit",
                "RateLimit-Policy",
            ],
            max_age=600,
        )
    app.add_middleware(EdgeMiddleware, metrics=container.metrics)
    return app


def add_routes(app: FastAPI, *routers: APIRouter) -> None:
    """Each router's routes declared again on the app's own router, in order.

    Not `app.include_router`, which keeps each included router as a node every request walks
    before reaching its route. Declared on the app, with every argument `add_api_route` takes
    read back from the route that took it, so `app.dependency_overrides` reaches them.
    """
    arguments = [
        name
        for name in inspect.signature(app.router.add_api_route).parameters
        if name not in {"path", "endpoint"}
    ]
    for router in routers:
        for route in router.routes:
            if not isinstance(route, APIRoute):
                raise TypeError(f"{route!r} is not an APIRoute")
            app.router.add_api_route(
                route.path,
                route.endpoint,
                **{name: getattr(route, name) for name in arguments if hasattr(route, name)},
            )
