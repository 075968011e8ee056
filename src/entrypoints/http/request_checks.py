"""Refusals every operation makes after its own dependencies and before FastAPI validates.

`CheckedRoute` appends one dependency to each route that needs it. Appended last, it runs
after authentication and rate limits (so its refusals carry the `RateLimit` headers and never
come before a 401) and before FastAPI validates the parameters and the body:

- a JSON body may hold at most `MAX_JSON_VALUES` values. Validating costs in proportion to
  the values (every unknown field is an error to build and report), while counting stops
  after `MAX_JSON_VALUES` of them, so a hostile body is refused for the price of a small one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import Any

from fastapi import Depends, params
from fastapi.dependencies.utils import get_parameterless_sub_dependant
from fastapi.routing import APIRoute
from starlette.requests import Request

from entrypoints.http.problems import FieldError, ProblemError

# Twenty times the largest body an operation takes today.
MAX_JSON_VALUES = 100

Check = Callable[[Request], Awaitable[None]]


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


def _takes_json(route: APIRoute) -> bool:
    body = route.body_field
    return body is not None and not isinstance(body.field_info, params.Form)


class CheckedRoute(APIRoute):
    """An `APIRoute` that makes the refusals above, after its own dependencies."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        checks: list[Check] = []
        if _takes_json(self):
            checks.append(refuse_too_many_values)
        if not checks:
            return

        async def check_request(request: Request) -> None:
            for check in checks:
                await check(request)

        self.dependant.dependencies.append(
            get_parameterless_sub_dependant(depends=Depends(check_request), path=self.path_format)
        )
