"""The one registry of error codes, and RFC 9457 problem responses built from it.

Exception handlers, OpenAPI error responses and the `/errors/{code}` pages all read
`ERRORS`, so a code cannot be documented one way and answered another.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

PROBLEM_MEDIA_TYPE = "application/problem+json"
# A 422 lists this many invalid fields and counts the rest in `errors_omitted`.
MAX_LISTED_ERRORS = 20
BEARER_CHALLENGE = 'Bearer realm="accounts"'
DEFAULT_HEADERS: dict[str, dict[str, str]] = {
    "invalid_token": {"WWW-Authenticate": f'{BEARER_CHALLENGE}, error="invalid_token"'},
    "not_authenticated": {"WWW-Authenticate": BEARER_CHALLENGE},
    "forbidden": {"WWW-Authenticate": f'{BEARER_CHALLENGE}, error="insufficient_scope"'},
    "service_unavailable": {"Retry-After": "5"},
}


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    """One error code: its status, constant title and the documentation page's text."""

    code: str
    status: int
    title: str
    detail: str
    meaning: str
    causes: Sequence[str]
    fix: str
    oauth: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "causes", tuple(self.causes))


ERRORS: dict[str, ErrorSpec] = {
    spec.code: spec
    for spec in (
        ErrorSpec(
            "validation_failed",
            422,
            "Request validation failed",
            "One or more fields are invalid; see `errors`.",
            "The body, a query parameter or a path parameter did not pass validation.",
            [
                "A required field is missing.",
                "A field has the wrong type or format.",
                "The body holds a field the operation does not accept.",
                "The JSON body holds more values (object members and array items, at every "
                "depth) than any operation needs: `too_many_values`.",
                "A query parameter sent twice, such as `?limit=1&limit=100`: "
                "`duplicate_parameter`.",
            ],
            "Correct each field listed in `errors` (its `pointer` names it) and send again; "
            f"at most {MAX_LISTED_ERRORS} are listed, and `errors_omitted` says how many more "
            "there were.",
        ),
        ErrorSpec(
            "malformed_request",
            400,
            "Malformed request",
            "The request body could not be parsed.",
            "The body is not parseable JSON (or form data, where a form is expected).",
            ["Truncated or hand-written JSON.", "A body sent with the wrong encoding."],
            "Send a well-formed JSON document with `Content-Type: application/json`.",
        ),
        ErrorSpec(
            "not_found",
            404,
            "Not found",
            "No resource lives at this path.",
            "No route matches the request path.",
            ["A typo in the path.", "A missing `/api/v1` prefix."],
            "Check the path against the API reference at `/docs`.",
        ),
        ErrorSpec(
            "method_not_allowed",
            405,
            "Method not allowed",
            "This path does not support the request method; see the `Allow` header.",
            "The path exists but not with this HTTP method.",
            ["Using POST where PATCH is expected, or the reverse."],
            "Use one of the methods listed in the `Allow` response header.",
        ),
        ErrorSpec(
            "payload_too_large",
            413,
            "Payload too large",
            "The request body is larger than this service accepts.",
            "The body (by `Content-Length` or by the bytes sent) passed the size limit.",
            ["Uploading something that is not an API payload.", "A runaway client."],
            "Send a smaller body; the limit is the `ACCOUNTS_MAX_BODY_BYTES` setting.",
        ),
        ErrorSpec(
            "unsupported_media_type",
            415,
            "Unsupported media type",
            "The request body's media type is not accepted by this operation.",
            "The `Content-Type` header does not name a format the operation reads.",
            ["A JSON body sent without `Content-Type: application/json`."],
            "Send the body as `application/json` (the token endpoint takes a form).",
        ),
        ErrorSpec(
            "not_authenticated",
            401,
            "Not authenticated",
            "This operation needs credentials.",
            "No bearer token (or API key) was sent to a protected operation.",
            ["The `Authorization` header is missing or not of the Bearer scheme."],
            "Get a token from `POST /api/v1/auth/token` and send `Authorization: Bearer …`.",
        ),
        ErrorSpec(
            "invalid_token",
            401,
            "Invalid token",
            "The credential is not valid.",
            "The token or key was sent but cannot be accepted.",
            [
                "The token expired.",
                "Its signature, issuer, audience or type is wrong.",
                "The token was revoked or its user no longer exists.",
                "An unknown API key.",
            ],
            "Get a new access token (log in again or refresh) and retry.",
        ),
        ErrorSpec(
            "forbidden",
            403,
            "Forbidden",
            "You are authenticated but not allowed to do this.",
            "The principal lacks the role, or the credential type, the operation needs.",
            [
                "A user without the admin role calling an admin operation.",
                "An API key used on a credential-management operation.",
            ],
            "Ask an admin for the role, or use a bearer token for credential management.",
        ),
        ErrorSpec(
            "account_disabled",
            403,
            "Account disabled",
            "This account is deactivated.",
            "The credential is valid but its account was deactivated by an admin.",
            ["An admin deactivated the account."],
            "Contact an administrator to reactivate the account.",
        ),
        ErrorSpec(
            "email_taken",
            409,
            "Email already registered",
            "An account with this email already exists.",
            "Emails are unique, compared case-insensitively.",
            ["Registering twice.", "The same address written in another case."],
            "Log in with the existing account, or register with another email.",
        ),
        ErrorSpec(
            "last_admin",
            409,
            "Last active admin",
            "The change would leave no active admin.",
            "The service must always keep at least one active admin.",
            ["Demoting or deactivating the only active admin."],
            "Promote another user to admin first, then repeat the change.",
        ),
        ErrorSpec(
            "user_not_found",
            404,
            "User not found",
            "No user has this id.",
            "The user id in the path does not name an existing user.",
            ["A stale or mistyped id."],
            "List users with `GET /api/v1/users` to find the right id.",
        ),
        ErrorSpec(
            "api_key_not_found",
            404,
            "API key not found",
            "No API key of yours has this id.",
            "The key id does not name one of the caller's API keys.",
            ["The key was deleted.", "The id belongs to another user's key."],
            "List your keys with `GET /api/v1/users/me/api-keys`.",
        ),
        ErrorSpec(
            "api_key_limit_reached",
            409,
            "API key limit reached",
            "You hold as many API keys as one account may.",
            "An account may hold at most `ACCOUNTS_API_KEYS_PER_USER` API keys (50 by default); "
            "expired keys count until they are deleted.",
            [
                "A new key made for every deployment or job, and the old ones never deleted.",
                "Expired keys that were never deleted.",
            ],
            "Delete keys you no longer use (`DELETE /api/v1/users/me/api-keys/{id}`), then "
            "create the new one.",
        ),
        ErrorSpec(
            "precondition_failed",
            412,
            "Precondition failed",
            "The resource changed since you read it.",
            "`If-Match` does not match the resource's current `ETag`.",
            ["Another client changed the resource after you fetched it."],
            "GET the resource again, re-apply your change to it, send it with the new ETag.",
        ),
        ErrorSpec(
            "invalid_current_password",
            400,
            "Invalid current password",
            "The current password is not correct.",
            "A password change needs the current password, and it did not match.",
            ["A typo in the current password."],
            "Send the account's current password in `current_password`.",
        ),
        ErrorSpec(
            "rate_limited",
            429,
            "Too many requests",
            "A rate limit is exhausted; retry after the number of seconds in `Retry-After`.",
            "The client sent more requests than its policy allows in the window.",
            ["A retry loop without backoff.", "Many clients behind one address."],
            "Wait `Retry-After` seconds; read the `RateLimit` headers to pace requests.",
        ),
        ErrorSpec(
            "service_unavailable",
            503,
            "Service unavailable",
            "A backing service is unreachable; try again shortly.",
            "The database (or, when configured to fail closed, the rate-limit store) is down.",
            ["A database restart or failover.", "Connection pool exhausted under load."],
            "Retry with backoff; operators should check `/health/ready`.",
        ),
        ErrorSpec(
            "internal_error",
            500,
            "Internal server error",
            "An unexpected error occurred; it was logged under `request_id`.",
            "Something failed that the service did not expect.",
            ["A bug in the service."],
            "Retry later; report the `request_id` to the operators if it persists.",
        ),
    )
}

OAUTH_ERRORS: dict[str, ErrorSpec] = {
    spec.code: replace(spec, oauth=True)
    for spec in (
        ErrorSpec(
            "invalid_request",
            400,
            "Invalid token request",
            "The token request is missing a parameter or is malformed.",
            "RFC 6749 §5.2: a required parameter is missing, repeated or malformed.",
            ["A JSON body instead of a form.", "No `grant_type`, `username` or `password`."],
            "Send `application/x-www-form-urlencoded` with the grant's parameters.",
        ),
        ErrorSpec(
            "invalid_grant",
            400,
            "Invalid grant",
            "Invalid email or password.",
            "RFC 6749 §5.2: the credentials or refresh token cannot be used.",
            [
                "A wrong email or password.",
                "A deactivated account.",
                "An expired, revoked or reused refresh token.",
            ],
            "Check the credentials, or log in again with the password grant.",
        ),
        ErrorSpec(
            "unsupported_grant_type",
            400,
            "Unsupported grant type",
            "This grant type is not supported.",
            "RFC 6749 §5.2: the `grant_type` is not one this server issues tokens for.",
            ["A client configured for another flow."],
            "Use `grant_type=password` or `grant_type=refresh_token`.",
        ),
    )
}

ALL_ERRORS: dict[str, ErrorSpec] = {**ERRORS, **OAUTH_ERRORS}


@dataclass(frozen=True, slots=True)
class FieldError:
    """One invalid field of a 422: where (a JSON pointer), what, and a stable code."""

    pointer: str
    detail: str
    code: str


class ProblemError(Exception):
    """Raised in the HTTP layer to answer with the problem of `code`."""

    def __init__(
        self,
        code: str,
        detail: str | None = None,
        *,
        errors: Sequence[FieldError] = (),
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.spec = ALL_ERRORS[code]
        self.detail = detail or self.spec.detail
        self.errors = tuple(errors)
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})
        super().__init__(self.detail)


class ProblemResponse(Response):
    """A response whose body is already a problem document."""

    media_type = PROBLEM_MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def problem_type(request: Request, code: str) -> str:
    """The absolute URL documenting `code`, from configuration only: never the request's `Host`."""
    base: str = request.app.state.error_docs_base_url
    return f"{base}/{code}"


def problem_body(request: Request, problem: ProblemError) -> dict[str, Any]:
    spec = problem.spec
    body: dict[str, Any] = {
        "type": problem_type(request, spec.code),
        "title": spec.title,
        "status": spec.status,
        "detail": problem.detail,
        "instance": request.url.path,
        "code": spec.code,
        "request_id": getattr(request.state, "request_id", None),
    }
    if problem.errors:
        listed = problem.errors[:MAX_LISTED_ERRORS]
        body["errors"] = [
            {"pointer": e.pointer, "detail": e.detail, "code": e.code} for e in listed
        ]
        if len(problem.errors) > len(listed):
            body["errors_omitted"] = len(problem.errors) - len(listed)
    if spec.oauth:
        body["error"] = spec.code
        body["error_description"] = problem.detail
    body.update(problem.extra)
    return body


def problem_response(request: Request, problem: ProblemError) -> Response:
    """Render the problem; OAuth errors of the token endpoint are `application/json`."""
    headers = {**DEFAULT_HEADERS.get(problem.spec.code, {}), **problem.headers}
    if problem.spec.oauth:
        headers.setdefault("Cache-Control", "no-store")
        headers.setdefault("Pragma", "no-cache")
        return ProblemResponse(
            problem_body(request, problem),
            status_code=problem.spec.status,
            headers=headers,
            media_type="application/json",
        )
    return ProblemResponse(
        problem_body(request, problem), status_code=problem.spec.status, headers=headers
    )
