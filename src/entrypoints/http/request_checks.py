"""Refusals every API operation makes after authentication and rate limits, before FastAPI
validates its parameters and body.

`check_request` runs at the end of the rate-limit step every API operation takes
(`rate_limits.throttled`, `rate_limits.rate_limited`), so its refusals carry the `RateLimit`
headers and never come before a 401. What it checks is what the operation publishes in the
OpenAPI document:

- a JSON body of an operation taking one may hold at most `MAX_JSON_VALUES` values.
  Validating costs in proportion to the values (every unknown field is an error to build and
  report), while counting stops after `MAX_JSON_VALUES` of them, so a hostile body costs its
  parse and little more;
- a query parameter the operation declares single-valued may be sent once: FastAPI would
  silently take the last of `?role=user&role=admin`, and an ambiguous request is refused
  rather than guessed at. Parameters the operation does not declare stay ignored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from starlette.requests import Request

from entrypoints.http.media_types import is_json, media_type_of
from entrypoints.http.problems import FieldError, ProblemError

# Some thirty times the largest body an operation takes today (three values).
MAX_JSON_VALUES = 100


def holds_more_values_than(document: object, limit: int) -> bool:
    """Whether a parsed JSON document holds more than `limit` object members and array items.

    Values are counted at every depth, and the walk stops once it has counted past `limit`.
    """
    pending = [document]
    counted = 0
    while pending:
        value = pending.pop()
        children: Collection[object]
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        counted += len(children)
        if counted > limit:
            return True
        pending.extend(children)
    return False


async def check_request(request: Request) -> None:
    """422 `validation_failed` for a repeated single-valued query parameter, then for a JSON
    body of more than `MAX_JSON_VALUES` values."""
    query = request.scope["query_string"]
    json_body = "content-type" in request.headers and is_json(media_type_of(request))
    if not query and not json_body:
        return
    operation = _operation(request)
    if query:
        refuse_repeated_parameters(request, _single_valued_query(operation))
    if json_body and "application/json" in operation.get("requestBody", {}).get("content", {}):
        await refuse_too_many_values(request)


async def refuse_too_many_values(request: Request) -> None:
    """422 `validation_failed` for a JSON body of more than `MAX_JSON_VALUES` values.

    FastAPI has parsed the body already; Starlette keeps the parsed document, so it is read
    here again for free. A body that is not JSON is left to the route's own answer.
    """
    if not await request.body():
        return
    try:
        document = await request.json()
    except ValueError:
        return
    if holds_more_values_than(document, MAX_JSON_VALUES):
        raise ProblemError(
            "validation_failed",
            errors=[
                FieldError(
                    pointer="#",
                    detail=f"The body holds more than {MAX_JSON_VALUES} values (object "
                    "members and array items, counted at every depth).",
                    code="too_many_values",
                )
            ],
        )


def repeated_parameters(
    query: Iterable[tuple[str, str]], single_valued: Collection[str]
) -> dict[str, int]:
    """The single-valued parameters sent more than once, with how often, in query order."""
    counts = Counter(name for name, _ in query if name in single_valued)
    return {name: count for name, count in counts.items() if count > 1}


def refuse_repeated_parameters(request: Request, single_valued: Collection[str]) -> None:
    """422 `validation_failed` naming each single-valued parameter sent more than once."""
    repeated = repeated_parameters(request.query_params.multi_items(), single_valued)
    if repeated:
        raise ProblemError(
            "validation_failed",
            errors=[
                FieldError(
                    pointer=f"#/query/{name}",
                    detail=f"Send this parameter once; it was sent {count} times.",
                    code="duplicate_parameter",
                )
                for name, count in repeated.items()
            ],
        )


def _operation(request: Request) -> Mapping[str, Any]:
    """The OpenAPI operation `request` was routed to (the app builds the document once);
    empty for an operation the document leaves out."""
    route = request.scope.get("route")
    path_format: str = getattr(route, "path_format", "")
    paths: Mapping[str, Any] = request.app.openapi()["paths"]
    operation: Mapping[str, Any] = paths.get(path_format, {}).get(request.method.lower(), {})
    return operation


def _single_valued_query(operation: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(
        parameter["name"]
        for parameter in operation.get("parameters", ())
        if parameter["in"] == "query" and not _takes_many(parameter.get("schema", {}))
    )


def _takes_many(schema: Mapping[str, Any]) -> bool:
    """Whether a parameter's schema takes several values (an array, or an array or null)."""
    return schema.get("type") == "array" or any(_takes_many(s) for s in schema.get("anyOf", ()))
