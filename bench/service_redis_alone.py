"""The service with its Redis rate limiter sending each call alone, for Gunicorn:
`bench/run.py --redis-each-call-alone` serves `service_redis_alone:create()` in the service's
place, to measure the per-turn pipeline under wrk (`redis_without_pipeline.py`)."""

from __future__ import annotations

from fastapi import FastAPI
from redis_without_pipeline import container_with_redis_limiter

from entrypoints.http.app import create_app
from entrypoints.settings import load_settings


def create() -> FastAPI:
    """The service as `entrypoints.asgi:create()` builds it, its Redis limiter unpipelined."""
    settings = load_settings()
    container = container_with_redis_limiter(settings, pipelined=False)
    return create_app(settings, container, freeze_startup_objects=True)
