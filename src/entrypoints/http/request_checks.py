"""Refusals every operation makes after its own dependencies and before FastAPI validates.

`CheckedRoute` appends one dependency to each route that needs it. Appended last, it runs
after authentication and rate limits (so its refusals carry the `RateLimit` headers and never
come before a 401) and before FastAPI validates the parameters and the body:

- a JSON body may hold at most `MAX_JSON_VALUES` values. Validating costs in proportion to
  the values (every unknown field is an error to build and report), while counting stops
  after `MAX_JSON_VALUES` of them, so a hostile body costs its parse and little more;
- a query parameter the operation declares single-valued may be sent once: FastAPI would
  silently take the last of `?role=user&role=admin`, and an ambiguous request is refused
  rather than guessed at. Parameters the operation does not declare stay ignored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from collections.abc import Set as AbstractSet
from types import UnionType
from typing import Any, Union, get_args, get_origin

from fastapi import Depends, params
from fastapi.dependencies.utils import get_flat_params, get_parameterless_sub_dependant
from fastapi.routing import APIRoute
from starlette.requests import Request

from entrypoints.http.problems import FieldError, ProblemError

# Some thirty times the largest body an operation takes today (three values).
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


def repeated_parameters(
    query: Iterable[tuple[str, str]], single_valued: Collection[str]
) -> dict[str, int]:
    """The single-valued parameters sent more than once, with how often, in query order."""
    counts = Counter(name for name, _ in query if name in single_valued)
    return {name: count for name, count in counts.items() if count > 1}


def refuse_repeated_parameters(single_valued: Collection[str]) -> Check:
    """A check answering 422 `validation_failed` naming each repeated parameter."""

    async def check(request: Request) -> None:
        if not request.scope["query_string"]:
            return
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

    return check


def _multi_valued(annotation: object) -> bool:
    """Whether a parameter's type takes several values (`list[str]`, `set[Role] | None`)."""
    origin = get_origin(annotation)
    if origin is Union or origin is UnionType:
        return any(_multi_valued(arg) for arg in get_args(annotation))
    kind = origin or annotation
    return (
        isinstance(kind, type)
        and issubclass(kind, (Sequence, AbstractSet))
        and not issubclass(kind, (str, bytes))
    )


def _single_valued_query(route: APIRoute) -> frozenset[str]:
    return frozenset(
        field.alias
        for field in get_flat_params(route.dependant)
        if isinstance(field.field_info, params.Query)
        and not _multi_valued(field.field_info.annotation)
    )


def _takes_json(route: APIRoute) -> bool:
    body = route.body_field
    return body is not None and not isinstance(body.field_info, params.Form)


class CheckedRoute(APIRoute):
    """An `APIRoute` that makes the refusals above, after its own dependencies.

    The handler `APIRoute` builds solves `self.dependant` afresh at each request, so the
    dependency appended here is solved like the route's own, last (the integration tests of
    both refusals hold this across FastAPI upgrades).
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        checks: list[Check] = []
        single_valued = _single_valued_query(self)
        if single_valued:
            checks.append(refuse_repeated_parameters(single_valued))
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
