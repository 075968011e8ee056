"""Gunicorn settings for production: `gunicorn --config gunicorn.conf.py` (the image's CMD).

Gunicorn only manages processes here: each worker is a Uvicorn event loop serving the ASGI app.
Everything comes from the environment, like the app's own settings. Migrations are not run here:
they are a separate step (`accounts migrate`), so workers never race to apply them.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import shutil
import sys
import tempfile
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIServer

from gunicorn.glogging import Logger

from entrypoints.logging import configure_logging
from entrypoints.settings import SettingsError, load_settings

try:
    # The app's own settings, so bind address, proxies and log format have one default each.
    _settings = load_settings()
except SettingsError as error:
    sys.exit(str(error))


def _check_signing_keys(report: Connection) -> None:
    """Send why the stored signing keys do not open with the KEK, or None."""
    from application.errors import SigningKeysUnreadable, StorageUnavailable  # noqa: PLC0415
    from entrypoints.container import check_signing_keys  # noqa: PLC0415

    try:
        asyncio.run(check_signing_keys(_settings))
    except SigningKeysUnreadable as error:
        report.send(str(error))
        return
    except StorageUnavailable:
        # The workers start anyway and report not ready until the database is back (or migrated).
        pass
    report.send(None)


def _signing_keys_problem() -> str | None:
    """Keys the KEK cannot open, found once here rather than as a traceback from every worker;
    in a child process, so that its connections and caches are not copied into the workers."""
    receiving, sending = multiprocessing.Pipe(duplex=False)
    child = multiprocessing.get_context("fork").Process(target=_check_signing_keys, args=(sending,))
    child.start()
    child.join()
    problem: str | None = receiving.recv() if receiving.poll() else None
    return problem


if (_problem := _signing_keys_problem()) is not None:
    sys.exit(f"gunicorn: {_problem}")

# Measured with `make bench-workers` (bench/run.py: the production command, wrk -t2 -c64 -d8s on
# loopback, Postgres and Redis on the same 2-core machine, each beside a bare FastAPI app run
# with the same settings), 2026-11-24, workers on asyncio's loop; requests/second (p99 ms),
# ratio to the bare app:
#   per core  GET /api/v1/users/me (bearer)    GET /health/live          bare app
#   1 (2)     2081 (68) 0.122                  7592 (14) 0.44            17101 (8)
#   2 (4)     1851 (124) 0.147                 6796 (27) 0.54            12595 (23)
#   4 (8)     2019 (227) 0.132                 8125 (16) 0.53            15239 (11)
# More workers per core buy no throughput (the differences are this machine's noise: the bare
# app's own moved by a quarter) and double the authenticated p99 at each step: an async worker
# already overlaps its I/O waits, and more processes only add context switches, memory
# (~120 MiB each) and database connections (each worker has its own pool).
# Hence 1 worker per core; raise WEB_CONCURRENCY when your own measurements say otherwise.
WORKERS_PER_CORE = 1
GRACEFUL_TIMEOUT_SECONDS = 30
# Where Prometheus scrapes (ACCOUNTS_METRICS_PORT): this master serves the workers' summed
# metrics there, and the API's port does not serve /metrics, so neither a proxy forwarding the
# API nor a published API port exposes them. The image does not publish it.
METRICS_PORT = 9464
# Longer than Nginx's upstream `keepalive_timeout` (60 s, deploy/nginx/accounts.conf): the
# proxy, not the app, closes an idle pooled connection, so Nginx never sends a request on a
# connection the app is closing at that very moment (a 502).
KEEPALIVE_SECONDS = 75


# This master's metrics listener, once `when_ready` started it.
_metrics_listener: list[WSGIServer] = []


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


wsgi_app = "entrypoints.asgi:create()"
# Uvicorn's worker on asyncio's own event loop rather than uvloop: fair to every connection at
# 256 of them (see entrypoints/worker.py for the measurement).
worker_class = "entrypoints.worker.UvicornWorker"
workers = int(os.environ.get("WEB_CONCURRENCY") or WORKERS_PER_CORE * _cores())
# The image sets ACCOUNTS_HOST=0.0.0.0; outside a container the default stays on loopback.
bind = [f"{_settings.http.host}:{_settings.http.port}"]
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", GRACEFUL_TIMEOUT_SECONDS))
keepalive = KEEPALIVE_SECONDS
# Gunicorn's limit_request_line/_fields/_field_size configure Gunicorn's own HTTP parser, which
# Uvicorn's worker does not use: the worker's protocol enforces ACCOUNTS_MAX_HEADER_BYTES,
# _MAX_HEADER_COUNT and _HEADER_TIMEOUT_SECONDS instead (entrypoints/http_protocol.py).
# The proxies whose X-Forwarded-For/-Proto Uvicorn believes: the same list the app resolves
# client addresses with, so both agree on who the client is.
forwarded_allow_ips = _settings.http.forwarded_allow_ips_for_uvicorn
# Recycle workers now and then so a slow leak cannot grow for ever; the jitter keeps them from
# all restarting at once.
max_requests = 10_000
max_requests_jitter = 1_000
# The app writes one structured access line per request; Gunicorn's would duplicate it.
accesslog = None
errorlog = "-"
# No control socket: nothing uses it, and it would need a writable $HOME (read-only root FS).
control_socket_disable = True


class StructlogLogger(Logger):
    """Gunicorn's logger, its lines rendered by structlog like the app's (JSON in production)."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        configure_logging(_settings.logging.level, _settings.effective_log_format)


logger_class = StructlogLogger


def on_starting(server: Any) -> None:
    """Give this master a fresh directory for the workers' metrics."""
    # Set before any worker imports prometheus-client, which picks its storage at import: every
    # worker then writes its values to files here and /metrics sums them. Emptied at start so a
    # previous master's dead workers are not counted again.
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        path = Path(directory)
        if path.exists():
            for entry in path.iterdir():
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        path.mkdir(parents=True, exist_ok=True)
    else:
        directory = tempfile.mkdtemp(prefix="accounts-prometheus-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    server.log.info("prometheus multiprocess directory %s", directory)
    # Read by each worker's settings: the API's port then leaves /metrics to `when_ready`.
    os.environ.setdefault("ACCOUNTS_METRICS_PORT", str(METRICS_PORT))


def when_ready(server: Any) -> None:
    """Serve every worker's metrics, summed, on the metrics port from this master."""
    from prometheus_client import CollectorRegistry, start_http_server  # noqa: PLC0415
    from prometheus_client.multiprocess import MultiProcessCollector  # noqa: PLC0415

    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    port = os.environ["ACCOUNTS_METRICS_PORT"]
    host = _settings.http.host
    try:
        listener, _ = start_http_server(int(port), addr=host, registry=registry)
    except (OSError, ValueError):
        # The API still serves; the scrape fails, which is what Prometheus alerts on.
        server.log.exception("metrics listener on %s:%s failed", host, port)
        return
    _metrics_listener.append(listener)
    server.log.info("metrics on %s:%s", host, port)


def post_fork(server: Any, worker: Any) -> None:
    """A worker closes its inherited copy of the master's metrics socket."""
    for listener in _metrics_listener:
        listener.socket.close()


def child_exit(server: Any, worker: Any) -> None:
    """A dead worker's live gauges (its DB pool) must stop counting; its counters stay."""
    from prometheus_client import multiprocess  # noqa: PLC0415 - after on_starting set the dir

    multiprocess.mark_process_dead(worker.pid)
