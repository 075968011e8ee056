"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter

from application.errors import StorageNotMigrated, StorageUnavailable
from entrypoints.http.dependencies import ServicesDep
from entrypoints.http.openapi import problem_responses
from entrypoints.http.problems import ProblemError
from entrypoints.http.request_checks import CheckedRoute
from entrypoints.http.schemas import HealthResponse

router = APIRouter(prefix="/health", tags=["health"], route_class=CheckedRoute)


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
async def ready(services: ServicesDep) -> HealthResponse:
    checks: dict[str, str] = {}
    try:
        await services.check_database()
        checks["database"] = "ok"
    except StorageNotMigrated:
        checks["database"] = "not_migrated"
    except StorageUnavailable:
        checks["database"] = "unavailable"
    required = set(checks)
    if services.throttle is not None:
        try:
            await services.throttle.check_storage()
            checks["rate_limit"] = "ok"
        except StorageUnavailable:
            checks["rate_limit"] = "unavailable"
        if not services.throttle.fail_open:
            required.add("rate_limit")
    if any(checks[name] != "ok" for name in required):
        raise ProblemError(
            "service_unavailable", "A dependency is unavailable.", extra={"checks": checks}
        )
    return HealthResponse(status="ok", checks=checks)
