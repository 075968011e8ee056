"""structlog configuration: JSON in production, console in development, secrets redacted."""

from __future__ import annotations

import functools
import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

_SECRET_KEYS = re.compile(r"pass(word)?|token|secret|authorization|api[_-]?key|cookie", re.I)


@functools.lru_cache(maxsize=1024)
def _is_secret(key: str) -> bool:
    """Whether a key sounds secret: searched once per key name, not per key of every line.

    The search per key was a third of an access-log line's instructions; the names are the
    code's own keyword arguments, a few dozen, so the bounded cache holds them all.
    """
    return key != "event" and _SECRET_KEYS.search(key) is not None


def _redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Belt and braces: no log line carries a value under a secret-sounding key."""
    for key in list(event):
        if _is_secret(key):
            event[key] = "[redacted]"
    return event


class _StderrLogger:
    """structlog's output for its own loggers: one line per event, straight to `sys.stderr`.

    The standard library's machinery (a LogRecord, handler lookup and a formatter per event)
    cost about a tenth of an authenticated request for its one access-log line. `sys.stderr`
    is looked up per line, so a stream swapped later (test capture, a reopened log) is used.
    """

    def __init__(self, name: str) -> None:
        self.name = name  # for `add_logger_name`

    def msg(self, message: str) -> None:
        stream = sys.stderr
        stream.write(message + "\n")
        stream.flush()

    debug = info = warning = error = critical = exception = msg


def _stderr_logger(*args: Any) -> _StderrLogger:
    return _StderrLogger(str(args[0]) if args else "")


def configure_logging(level: str = "INFO", fmt: str = "console") -> None:
    """Render structlog's events and the standard library's (uvicorn, gunicorn) alike.

    Our own events skip the `logging` module (`_StderrLogger`); foreign ones go through it
    and the same processors, so every line has one shape.
    """
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        # Plain tracebacks: rich's (the default when installed) print every frame's locals,
        # which can hold passwords or tokens, and take seconds to render.
        else structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    )
    exceptions = structlog.processors.format_exc_info if fmt == "json" else _identity
    structlog.configure(
        processors=[*shared, exceptions, renderer],
        # Events below the level are dropped by a no-op method, before any processor runs.
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level]),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                exceptions,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Our middleware writes one access line per request; uvicorn's would duplicate it.
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error", "gunicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


def _identity(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    return event
