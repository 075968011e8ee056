"""The Gunicorn worker class (`gunicorn.conf.py`): Uvicorn on the standard library's event loop.

uvloop, which Uvicorn picks by default when it is installed, served its connections unfairly
once many of them were busy at once. At 256 connections on one worker about 1 % of requests
waited 1-3 s, the bare FastAPI app's as much as ours (p99 1.3-2.8 s for a route returning a
constant), while asyncio's own loop kept the same app's p99 at 57-95 ms at the same
throughput (`make bench`, 2 cores, 2026-11-24). Nginx does not show it on the same machine, so
the wait is the loop's, not the kernel's or wrk's. The HTTP parser stays httptools: the loop,
not the parser, made the difference, and httptools parses faster than h11. Its protocol is ours
(`entrypoints/http_protocol.py`): Uvicorn's, with limits on each request's head.
"""

from __future__ import annotations

from typing import Any, Final

from uvicorn_worker import UvicornWorker as _UvicornWorker

# Uvicorn's `loop` and `http` settings, for Gunicorn's workers and `accounts serve` alike.
EVENT_LOOP: Final = "asyncio"
HTTP_PROTOCOL: Final = "entrypoints.http_protocol:HeadLimitedHttpToolsProtocol"


class UvicornWorker(_UvicornWorker):
    """Uvicorn's Gunicorn worker with the event loop and HTTP protocol chosen above."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Per instance, before the base class builds Uvicorn's config from it: the base
        # declares `CONFIG_KWARGS` as an instance attribute holding a dict.
        self.CONFIG_KWARGS = {"loop": EVENT_LOOP, "http": HTTP_PROTOCOL}
        super().__init__(*args, **kwargs)
