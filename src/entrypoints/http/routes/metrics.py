"""Prometheus metrics on the API's port, for a single process (`accounts serve`).

Not installed when `ACCOUNTS_METRICS_PORT` is set: Gunicorn's master serves them there.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from entrypoints.container import Container
from entrypoints.http.provided import provided
from entrypoints.metrics import CONTENT_TYPE, Metrics

router = APIRouter(tags=["platform"])


@router.get(
    "/metrics",
    operation_id="metrics",
    summary="Prometheus metrics",
    description="The Prometheus text exposition format, on the API's port when "
    "`ACCOUNTS_METRICS_PORT` is unset (`accounts serve`); under Gunicorn they are served "
    "on that port instead, summed over workers, and this path answers 404.",
    response_class=Response,
    responses={
        200: {
            "description": "Counters and histograms of this worker process.",
            "content": {
                CONTENT_TYPE: {
                    "schema": {"type": "string"},
                    "example": "accounts_rate_limit_storage_failures_total"
                    '{outcome="allowed"} 0.0\n',
                }
            },
        }
    },
)
async def metrics(metrics: Annotated[Metrics, Depends(provided(Container.metrics))]) -> Response:
    return Response(metrics.render(), media_type=CONTENT_TYPE)
