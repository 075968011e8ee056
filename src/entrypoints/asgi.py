"""ASGI entry for servers: `uvicorn --factory entrypoints.asgi:create` or Gunicorn."""

from __future__ import annotations

from fastapi import FastAPI

from entrypoints.http.app import create_app
from entrypoints.settings import load_settings


def create() -> FastAPI:
    """The app configured from the environment."""
    return create_app(load_settings())
