"""Every error the framework or the use cases raise, answered as the problem its code names."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match

from application import errors as app_errors
from domain import errors as domain_errors
from entrypoints.http.error_registry import BEARER_CHALLENGE
from entrypoints.http.problems import FieldError, ProblemError, problem_response

# Starlette's own refusals, by status: the problem each answers with.
CODES_BY_STATUS = {
    400: "malformed_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    503: "service_unavailable",
}


def problem_for(exc: Exception) -> ProblemError:
    """The problem an error answers with, by the `code` it carries; anything else is a 500."""
    if isinstance(exc, ProblemError):
        return exc
    if isinstance(exc, domain_errors.InvalidValue):
        return _invalid_field(f"#/{exc.field}", exc)
    if isinstance(exc, app_errors.InvalidParameter):
        return _invalid_field(f"#/query/{exc.parameter}", exc)
    if isinstance(exc, app_errors.StorageUnavailable):
        # The registry's generic detail: never a driver message.
        return ProblemError(exc.code)
    if isinstance(exc, app_errors.ApplicationError | domain_errors.DomainError):
        return ProblemError(exc.code, str(exc), headers=_challenge(exc))
    return ProblemError("internal_error")


def _challenge(exc: Exception) -> dict[str, str]:
    """RFC 9470: a step-up refusal names the login age the operation accepts; RFC 6750 §3.1: a
    client token's refusal names the scope the operation needs, where one would do."""
    if isinstance(exc, app_errors.ReauthenticationRequired):
        challenge = f'error="insufficient_user_authentication", max_age={exc.max_age}'
        return {"WWW-Authenticate": f"{BEARER_CHALLENGE}, {challenge}"}
    if isinstance(exc, app_errors.InsufficientScope) and exc.scope is not None:
        challenge = f'error="insufficient_scope", scope="{exc.scope}"'
        return {"WWW-Authenticate": f"{BEARER_CHALLENGE}, {challenge}"}
    return {}


def _invalid_field(
    pointer: str, exc: domain_errors.InvalidValue | app_errors.InvalidParameter
) -> ProblemError:
    """A 422 naming the one field `exc` refused, with the field's own code."""
    return ProblemError(
        "validation_failed", errors=[FieldError(pointer=pointer, detail=str(exc), code=exc.code)]
    )


def _pointer(loc: Sequence[int | str]) -> str:
    """RFC 6901 pointer: `#/email` into the body, `#/query/limit`, `#/path/user_id`."""
    where, *path = loc
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in path]
    prefix = "" if where == "body" else f"/{where}"
    return "#" + prefix + "".join(f"/{p}" for p in parts)


def validation_problem(errors: Sequence[Any]) -> ProblemError:
    """A 422 listing each invalid field once; unparseable JSON is a 400 instead."""
    if any(e.get("type") == "json_invalid" for e in errors):
        return ProblemError("malformed_request", "The request body is not valid JSON.")
    seen: dict[str, FieldError] = {}
    for error in errors:
        pointer = _pointer(error.get("loc") or ("body",))
        code = str(error.get("type", "invalid"))
        detail = str(error.get("msg", "Invalid value.")).removeprefix("Value error, ")
        if code == "extra_forbidden":
            detail = "This field is not accepted."
        seen.setdefault(pointer, FieldError(pointer=pointer, detail=detail, code=code))
    return ProblemError("validation_failed", errors=list(seen.values()))


async def _handle_known(request: Request, exc: Exception) -> Response:
    return problem_response(request, problem_for(exc))


async def _handle_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for this type
    return problem_response(request, validation_problem(exc.errors()))


async def _handle_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101 - registered for this type
    fallback = "internal_error" if exc.status_code >= 500 else "malformed_request"
    code = CODES_BY_STATUS.get(exc.status_code, fallback)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
    if exc.status_code == 413:
        headers["Connection"] = "close"
    return problem_response(request, ProblemError(code, headers=headers))


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path (Starlette names only the first route's).

    Probes each method through the routes' own `matches`, so nested routers count too.
    """
    allowed = [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL
            for route in request.app.router.routes
        )
    ]
    return ", ".join(allowed)


def install_error_handlers(app: FastAPI) -> None:
    """Route every error the framework or the use cases raise to one problem response."""
    app.add_exception_handler(RequestValidationError, _handle_validation)
    app.add_exception_handler(StarletteHTTPException, _handle_http)
    app.add_exception_handler(ProblemError, _handle_known)
    app.add_exception_handler(app_errors.ApplicationError, _handle_known)
    app.add_exception_handler(domain_errors.DomainError, _handle_known)
