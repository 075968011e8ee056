"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter

from application.errors import StorageUnavailable
from entrypoints.http.dependencies import ServicesDep
from entrypoints.http.openapi import problem_responses
from entrypoints.http.problems import ProblemError
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
    description="200 when every dependency answers, else 503 with the failing checks.",
    response_model=HealthResponse,
    responses=problem_responses("service_unavailable"),
)
async def ready(services: ServicesDep) -> HealthResponse:
    checks: dict[str, str] = {}
    try:
        await services.check_database()
        checks["database"] = "ok"
    except StorageUnavailable:
        checks["database"] = "unavailable"
    if any(state != "ok" for state in checks.values()):
        raise ProblemError(
            "service_unavailable", "A dependency is unavailable.", extra={"checks": checks}
        )
    return HealthResponse(status="ok", checks=checks)
