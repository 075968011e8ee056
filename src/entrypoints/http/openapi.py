"""OpenAPI fragments: documented error responses built from the error registry."""

from __future__ import annotations

from typing import Any

from entrypoints.http.problems import ALL_ERRORS, PROBLEM_MEDIA_TYPE
from entrypoints.http.schemas import OAuthProblem, Problem


def _example(code: str) -> dict[str, Any]:
    spec = ALL_ERRORS[code]
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
        by_status.setdefault(ALL_ERRORS[code].status, []).append(code)
    responses: dict[int | str, dict[str, Any]] = {}
    for status, status_codes in sorted(by_status.items()):
        oauth = all(ALL_ERRORS[c].oauth for c in status_codes)
        media = "application/json" if oauth else PROBLEM_MEDIA_TYPE
        responses[status] = {
            "model": OAuthProblem if oauth else Problem,
            "description": " / ".join(ALL_ERRORS[c].title for c in status_codes),
            **({"headers": RATE_LIMITED_HEADERS} if "rate_limited" in status_codes else {}),
            "content": {
                media: {
                    "examples": {
                        c: {"summary": ALL_ERRORS[c].title, "value": _example(c)}
                        for c in status_codes
                    }
                }
            },
        }
    return responses


AUTHENTICATED = ("not_authenticated", "invalid_token", "account_disabled")
# Every /api/v1 operation is rate limited, so each documents its 429.
ALWAYS = ("rate_limited", "internal_error", "service_unavailable")
