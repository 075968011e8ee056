"""The service with its Redis rate limiter sending each call alone, for Gunicorn:
`bench/run.py --redis-each-call-alone` serves `service_redis_alone:create()` in the service's
place, to measure the per-turn pipeline under wrk (`redis_without_pipeline.py`)."""

from __future__ import annotations

from fastapi import FastAPI
from redis_without_pipeline import redis_calls

from entrypoints.asgi import create as create_service


def create() -> FastAPI:
    """The service as `entrypoints.asgi:create()` builds it; its limiter, built at start-up in
    this worker, sends each call alone for the worker's whole life."""
    redis_calls(pipelined=False).__enter__()
    return create_service()
