"""Pure ASGI middleware: request ids, headers, access log, metrics, body size limit.

Pure ASGI rather than `BaseHTTPMiddleware`: no extra task per request, and context
variables bound here (request id, user id) are the ones the handlers log with.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable

import structlog
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from entrypoints.http.problems import ProblemError, problem_response
from entrypoints.http.rate_limits import add_rate_limit_headers
from entrypoints.http.routes import API_PREFIX
from entrypoints.metrics import Metrics, record_response

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_API_PATHS = f"{API_PREFIX}/"
logger = structlog.get_logger("accounts.http")


class EdgeMiddleware:
    """What every HTTP request passes exactly once, in one layer.

    - an id (`X-Request-ID`: the client's own when well-formed, else a fresh one), bound to
      every log line of the request;
    - the security headers, and the rate-limit headers of whatever decision the route's
      dependencies took (`add_rate_limit_headers`), on every response, errors included;
    - `Cache-Control: no-store` on every response of the API: each is about an account or a
      credential, or answers a request carrying one;
    - one access-log line and the request counter and latency histogram;
    - the last line of defence: an exception nothing else handled is logged with its
      traceback and answered with a bare `internal_error` problem carrying the request id.

    One middleware rather than three stacked ones: each layer of pure ASGI middleware wraps
    `send` again and adds its own frames to every request.
    """

    def __init__(self, app: ASGIApp, metrics: Callable[[], Metrics | None]) -> None:
        self.app = app
        # Read per request: tests and builders may swap the container's metrics.
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        # A copy: servers may hand every request the same lifespan-state dict.
        scope["state"] = {**scope.get("state", {}), "request_id": request_id}
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500
        response_started = False
        private = scope["path"].startswith(_API_PATHS)

        async def send_with_headers(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
                headers["X-Content-Type-Options"] = "nosniff"
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers.setdefault("X-Frame-Options", "DENY")
                if private:
                    headers.setdefault("Cache-Control", "no-store")
                # Read at send time: the route's dependencies fill the state after this
                # middleware was entered.
                add_rate_limit_headers(message, scope.get("state", {}))
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            logger.exception("unhandled_error", method=scope["method"], path=scope["path"])
            if response_started:
                raise
            request = Request(scope)
            await problem_response(request, ProblemError("internal_error"))(
                scope, receive, send_with_headers
            )
        finally:
            seconds = time.perf_counter() - started
            logger.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status,
                duration_ms=round(seconds * 1000, 2),
            )
            metrics = self._metrics()
            if metrics is not None:
                record_response(metrics, scope, status, seconds)
            structlog.contextvars.clear_contextvars()


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _REQUEST_ID.match(candidate):
                return candidate
            break
    return uuid.uuid4().hex


class BodySizeLimitMiddleware:
    """Answers 413 as soon as `Content-Length`, or the bytes read so far, pass the limit."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await _too_large(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    # Raised inside the handler's body read, so the app's own 413 handler
                    # answers it as a problem.
                    raise HTTPException(413, headers={"Connection": "close"})
            return message

        await self.app(scope, limited_receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _too_large(scope: Scope, receive: Receive, send: Send) -> None:
    request = Request(scope)
    response = problem_response(
        request, ProblemError("payload_too_large", headers={"Connection": "close"})
    )
    await response(scope, receive, send)
