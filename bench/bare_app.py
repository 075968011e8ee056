"""The baseline: a bare FastAPI app whose one route returns a constant.

Served by `bench/run.py` under the same `gunicorn.conf.py` as the service (same worker class,
workers and keep-alive), so the ratio of the service's requests/second to this app's is what
the service's own work costs.
"""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def constant() -> dict[str, str]:
    return {"status": "ok"}
