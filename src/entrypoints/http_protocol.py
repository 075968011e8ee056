"""Uvicorn's HTTP protocol with limits on each request's head, for a server nothing stands before.

With httptools, Uvicorn bounds neither the size nor the number of a request's headers, nor the
time a client takes to send them: its keep-alive timeout runs only between requests, so a client
sending a header line now and then holds its connection for ever. Gunicorn's `limit_request_*`
settings configure Gunicorn's own parser, which Uvicorn's worker does not use. This subclass adds
the three limits (`ACCOUNTS_MAX_HEADER_BYTES`, `_MAX_HEADER_COUNT`, `_HEADER_TIMEOUT_SECONDS`)
through public hooks only, the asyncio protocol's methods and httptools' parser callbacks, each
handing on to Uvicorn's own. `accounts serve` and Gunicorn's workers name it as Uvicorn's `http`.
"""

from __future__ import annotations

import asyncio
import functools
import re
from dataclasses import dataclass
from typing import Any, Final

import structlog
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from entrypoints.settings import load_settings

# The blank line that ends a head; the parser also takes a bare LF as a line's end.
HEAD_END: Final = re.compile(rb"\r?\n\r?\n")
# Enough of a head's end to find a blank line split between two reads.
HEAD_END_CARRY: Final = 3
TOO_LARGE_BODY: Final = b"The request's header fields are too large.\n"
TOO_LARGE: Final = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: %d\r\n"
    b"connection: close\r\n"
    b"\r\n%s" % (len(TOO_LARGE_BODY), TOO_LARGE_BODY)
)


@dataclass(frozen=True, slots=True)
class HeadLimits:
    """What one request's head may take: bytes, header lines, and seconds to arrive."""

    max_bytes: int
    max_count: int
    timeout_seconds: float


@functools.cache
def head_limits() -> HeadLimits:
    """This process's limits, read from the environment like the app's own settings."""
    settings = load_settings()
    return HeadLimits(
        settings.http.max_header_bytes,
        settings.http.max_header_count,
        settings.http.header_timeout_seconds,
    )


class TooManyHeaders(Exception):
    """Raised in the parser's header callback: parsing stops and Uvicorn answers 400."""


class HeadLimitedHttpToolsProtocol(HttpToolsProtocol):
    """Uvicorn's httptools protocol that refuses oversized heads and cuts off slow ones."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_limits = head_limits()
        self._head_transport: asyncio.Transport | None = None
        self._head_deadline: asyncio.TimerHandle | None = None
        # Whether the next bytes belong to a head: from connecting, and after each request.
        self._head_pending = True
        self._head_bytes = 0
        self._head_carry = b""
        self._head_count = 0

    # Uvicorn's own override narrows asyncio's BaseTransport (with the same ignore); ours follows.
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_transport = transport
        self._start_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._head_pending:
            if self._head_deadline is None:
                self._start_head_deadline()
            # Only the bytes up to the blank line count: a body may follow in the same read.
            window = self._head_carry + data
            end = HEAD_END.search(window)
            self._head_bytes += len(data) if end is None else end.end() - len(self._head_carry)
            self._head_carry = window[-HEAD_END_CARRY:]
            if self._head_bytes > self._head_limits.max_bytes:
                self._refuse_head()
                return
        super().data_received(data)

    def on_message_begin(self) -> None:
        self._head_count = 0
        super().on_message_begin()

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_count += 1
        if self._head_count > self._head_limits.max_count:
            raise TooManyHeaders(f"more than {self._head_limits.max_count} header lines")
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._head_pending = False
        self._cancel_head_deadline()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._head_pending = True
        self._head_bytes = 0
        self._head_carry = b""

    def _start_head_deadline(self) -> None:
        loop = asyncio.get_running_loop()
        self._head_deadline = loop.call_later(
            self._head_limits.timeout_seconds, self._head_timed_out
        )

    def _cancel_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_timed_out(self) -> None:
        self._head_deadline = None
        transport = self._head_transport
        if transport is not None and not transport.is_closing():
            structlog.get_logger("accounts.http").info(
                "request_head_timed_out",
                client=_peer(transport),
                seconds=self._head_limits.timeout_seconds,
            )
            transport.close()

    def _refuse_head(self) -> None:
        self._cancel_head_deadline()
        transport = self._head_transport
        if transport is not None and not transport.is_closing():
            structlog.get_logger("accounts.http").warning(
                "request_head_too_large",
                client=_peer(transport),
                max_bytes=self._head_limits.max_bytes,
            )
            transport.write(TOO_LARGE)
            transport.close()


def _peer(transport: asyncio.BaseTransport) -> str | None:
    peer = transport.get_extra_info("peername")
    return str(peer[0]) if isinstance(peer, tuple) and peer else None
