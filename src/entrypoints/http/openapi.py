"""The OpenAPI document: error responses built from the error registry, tags, the final spec."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import models_json_schema
from starlette.routing import BaseRoute

from domain.clients import Scope
from entrypoints.http import schemas as http_schemas
from entrypoints.http.error_registry import ERRORS
from entrypoints.http.problems import PROBLEM_MEDIA_TYPE
from entrypoints.http.routes import API_PREFIX
from entrypoints.http.schemas import OAuthProblem, Problem

_COMPONENTS = "#/components/schemas/{model}"


def _example(code: str) -> dict[str, Any]:
    spec = ERRORS[code]
    body: dict[str, Any] = {
        "type": f"http://127.0.0.1:8000/errors/{code}",
        "title": spec.title,
        "status": spec.status,
        "detail": spec.detail,
        "instance": "/api/v1/…",
        "code": code,
        "request_id": "5f0c8d1e9a7b4c3d9e2f1a0b6c7d8e9f",
    }
    if code == "validation_failed":
        body["errors"] = [
            {
                "pointer": "#/email",
                "detail": "The domain after '@' is not valid.",
                "code": "invalid_email",
            }
        ]
    if spec.oauth:
        body["error"] = code
        body["error_description"] = spec.detail
    if code == "mfa_required":
        body["mfa_token"] = "Zk9xW2n4c1pQ8rT5vB7yH3jL6mD0aS9eK2uF4gX1wE8"  # noqa: S105 - an example
        body["mfa_token_expires_in"] = 300
    return body


RATE_LIMITED_HEADERS: dict[str, dict[str, Any]] = {
    "Retry-After": {
        "description": "Whole seconds to wait before retrying (at least 1).",
        "schema": {"type": "integer", "minimum": 1, "example": 42},
    },
    "RateLimit": {
        "description": "Each policy that applied, closest to exhaustion first: `r` requests "
        "remaining, `t` seconds until its window moves on (draft-ietf-httpapi-ratelimit-headers).",
        "schema": {"type": "string", "example": '"login_username";r=0;t=42, "anonymous";r=57;t=60'},
    },
    "RateLimit-Policy": {
        "description": "Each policy that applied: `q` requests per `w` seconds.",
        "schema": {
            "type": "string",
            "example": '"login_username";q=10;w=60, "anonymous";q=60;w=60',
        },
    },
}


def problem_responses(*codes: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each status with the problem schema and an example per code."""
    by_status: dict[int, list[str]] = {}
    for code in codes:
        by_status.setdefault(ERRORS[code].status, []).append(code)
    responses: dict[int | str, dict[str, Any]] = {}
    for status, status_codes in sorted(by_status.items()):
        oauth = all(ERRORS[c].oauth for c in status_codes)
        media = "application/json" if oauth else PROBLEM_MEDIA_TYPE
        schema = (OAuthProblem if oauth else Problem).__name__
        responses[status] = {
            "description": " / ".join(ERRORS[c].title for c in status_codes),
            **({"headers": RATE_LIMITED_HEADERS} if "rate_limited" in status_codes else {}),
            "content": {
                media: {
                    "schema": {"$ref": _COMPONENTS.format(model=schema)},
                    "examples": {
                        c: {"summary": ERRORS[c].title, "value": _example(c)} for c in status_codes
                    },
                }
            },
        }
    return responses


AUTHENTICATED = ("not_authenticated", "invalid_token", "account_disabled")
# Every operation that reads a JSON body can refuse it in these four ways.
JSON_BODY = (
    "validation_failed",
    "malformed_request",
    "unsupported_media_type",
    "payload_too_large",
)
# Every /api/v1 operation is rate limited, so each documents its 429.
ALWAYS = ("rate_limited", "internal_error", "service_unavailable")


TAGS: list[dict[str, Any]] = [
    {
        "name": "auth",
        "description": "Register, and get or revoke tokens with the OAuth2 token endpoint "
        "(password and refresh-token grants, RFC 6749; revocation, RFC 7009).",
    },
    {
        "name": "users",
        "description": "Your own account, and user management for admins (role-based).",
    },
    {
        "name": "sessions",
        "description": "Your login sessions (where you are logged in) and ending them; an "
        "admin's view of any account's sessions.",
    },
    {
        "name": "api keys",
        "description": "Long-lived keys for machine clients, sent as `X-API-Key`. Managed with "
        "a bearer token only.",
    },
    {
        "name": "second factor",
        "description": "TOTP (RFC 6238) with recovery codes: enrol, confirm, regenerate codes, "
        "turn off; logging in with it is the token endpoint's MFA grant.",
    },
    {
        "name": "clients",
        "description": "Clients (service accounts) for other services: admins register them "
        "with scopes; they get tokens with the client-credentials grant and introspect tokens.",
    },
    {
        "name": "audit",
        "description": "The audit log, for admins: who did what to which account, from where. "
        "Read only; `accounts purge-audit` removes events past their retention.",
    },
    {
        "name": "discovery",
        "description": "For other services: the authorization server metadata (RFC 8414) and "
        "the public keys that verify our access tokens (JWKS, RFC 7517). Cacheable: "
        "`Cache-Control: public, max-age=N`, a strong `ETag`, and 304 on `If-None-Match`.",
    },
    {"name": "health", "description": "Liveness and readiness probes for the orchestrator."},
    {
        "name": "pages",
        "description": "Small HTML pages that mailed links open (email verification, password "
        "reset): a GET shows a form holding the link's token, and only pressing its button "
        "spends the token. Point `ACCOUNTS_VERIFY_EMAIL_URL` and `ACCOUNTS_RESET_PASSWORD_URL` "
        "at your own front end to use the API instead.",
    },
    {
        "name": "errors",
        "description": "Human-readable pages for every problem `code`: each problem's `type` "
        "links here.",
    },
    {"name": "platform", "description": "Operational endpoints (Prometheus metrics)."},
]


def _operations(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for item in spec.get("paths", {}).values():
        yield from item.values()


def build_openapi(
    *,
    title: str,
    version: str,
    summary: str | None,
    description: str,
    routes: list[BaseRoute],
    password_min_length: int,
) -> dict[str, Any]:
    """FastAPI's document, with the problem schemas and without FastAPI's own 422 shape.

    FastAPI documents a `HTTPValidationError` 422 on every operation with parameters that does
    not declare one; this service answers those with the `validation_failed` problem, so the
    document says so. New passwords get the configured policy's minimum length.
    """
    spec = get_openapi(
        title=title,
        version=version,
        summary=summary,
        description=description,
        routes=routes,
        tags=TAGS,
    )
    schemas: dict[str, Any] = spec.setdefault("components", {}).setdefault("schemas", {})
    _, problem_schemas = models_json_schema(
        [(Problem, "serialization"), (OAuthProblem, "serialization")], ref_template=_COMPONENTS
    )
    schemas.update(problem_schemas["$defs"])
    validation_failed = problem_responses("validation_failed")[422]
    for operation in _operations(spec):
        response = operation.get("responses", {}).get("422")
        if response is not None and "HTTPValidationError" in str(response):
            operation["responses"]["422"] = validation_failed
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    _restore_model_examples(schemas)
    _apply_password_policy(schemas, password_min_length)
    _add_client_schemes(spec)
    return spec


CLIENT_CREDENTIALS_SCHEME = "OAuth2ClientCredentials"
CLIENT_BASIC_SCHEME = "ClientBasic"


def _add_client_schemes(spec: dict[str, Any]) -> None:
    """The schemes of clients (service accounts), which no FastAPI dependency declares: the
    token and introspection endpoints read client credentials themselves."""
    schemes = spec["components"].setdefault("securitySchemes", {})
    schemes[CLIENT_CREDENTIALS_SCHEME] = {
        "type": "oauth2",
        "description": "A client's token: `grant_type=client_credentials` with the client's "
        "id and secret (`POST /api/v1/clients` registers one).",
        "flows": {
            "clientCredentials": {
                "tokenUrl": f"{API_PREFIX}/auth/token",
                "scopes": {
                    Scope.USERS_READ.value: "Read users: `GET /users`, `GET /users/{id}`.",
                    Scope.USERS_WRITE.value: "Also change users: `PATCH /users/{id}`.",
                },
            }
        },
    }
    schemes[CLIENT_BASIC_SCHEME] = {
        "type": "http",
        "scheme": "basic",
        "description": "A client's id and secret (`client_secret_basic`), at the token and "
        "introspection endpoints; they may be sent in the form instead "
        "(`client_secret_post`).",
    }


def _apply_password_policy(schemas: dict[str, Any], min_length: int) -> None:
    for schema in schemas.values():
        for prop in schema.get("properties", {}).values():
            if prop.pop(http_schemas.POLICY_MIN_LENGTH, False):
                prop["minLength"] = min_length


def _restore_model_examples(schemas: dict[str, Any]) -> None:
    """Put the models' examples back as written.

    FastAPI drops every `null` from the document (`exclude_none`), examples included, which
    turns `"last_used_at": null` into an example its own schema refuses.
    """
    for name, schema in schemas.items():
        model = getattr(http_schemas, name, None)
        extra = getattr(model, "model_config", {}).get("json_schema_extra")
        if isinstance(extra, dict) and "examples" in extra:
            schema["examples"] = extra["examples"]
