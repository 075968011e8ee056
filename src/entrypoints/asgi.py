"""ASGI entry for servers: `uvicorn --factory entrypoints.asgi:create` or Gunicorn."""

from __future__ import annotations

from fastapi import FastAPI

from entrypoints.http.app import create_app
from entrypoints.settings import (
    load_settings,
    warn_if_limits_split_across_workers,
    workers_from_environment,
)


def create() -> FastAPI:
    """The app configured from the environment, for a server process that serves only it."""
    settings = load_settings()
    app = create_app(settings, freeze_startup_objects=True)
    warn_if_limits_split_across_workers(settings, workers_from_environment())
    return app
