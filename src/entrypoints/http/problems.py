"""RFC 9457 problem responses, rendered from the error registry."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from entrypoints.http.error_registry import ERRORS, MAX_LISTED_ERRORS

PROBLEM_MEDIA_TYPE = "application/problem+json"


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
        self.spec = ERRORS[code]
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
    headers = {**problem.spec.headers, **problem.headers}
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
