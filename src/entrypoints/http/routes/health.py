"""Liveness and readiness probes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from application.use_cases.check_readiness import CheckReadiness
from entrypoints.container import Container
from entrypoints.http.openapi import problem_responses
from entrypoints.http.problems import ProblemError
from entrypoints.http.provided import provided
from entrypoints.http.schemas import HealthResponse

router = APIRouter(prefix="/health", tags=["health"])


@router.get(
    "/live",
    operation_id="health_live",
    summary="Liveness probe",
    description="200 while the process runs; checks nothing else.",
    response_model=HealthResponse,
)
async def live() -> HealthResponse:
    return HealthResponse(status="ok")


@router.get(
    "/ready",
    operation_id="health_ready",
    summary="Readiness probe",
    description="200 when every dependency answers, else 503 with the failing checks. "
    "`checks.database` is `not_migrated` when the database answers but has no schema "
    "(run `accounts migrate`), `unavailable` when it does not answer. "
    "`checks.rate_limit` reports the rate-limit store; while rate limits fail open "
    "(`ACCOUNTS_RATE_LIMIT_FAIL_OPEN`, the default) an unavailable store is reported but does not "
    "fail readiness, since requests are still served.",
    response_model=HealthResponse,
    responses=problem_responses("service_unavailable"),
)
async def ready(
    check_readiness: Annotated[CheckReadiness, Depends(provided(Container.check_readiness))],
) -> HealthResponse:
    readiness = await check_readiness.execute()
    if not readiness.ready:
        raise ProblemError(
            "service_unavailable",
            "A dependency is unavailable.",
            extra={"checks": readiness.checks},
        )
    return HealthResponse(status="ok", checks=readiness.checks)
