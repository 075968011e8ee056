"""Limits on a request's head, enforced by the server itself when nothing stands in front of it
(`docker run -p 8000:8000`): under `accounts serve` (Uvicorn) and the production Gunicorn command.

Each test talks raw HTTP/1.1 over a socket, since a well-behaved client cannot send the heads
these limits refuse.
"""

from __future__ import annotations

import os
import select
import socket
import subprocess
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from entrypoints.settings import HttpSettings
from tests.integration.servers import start_accounts_serve, start_gunicorn, stop, stop_gunicorn

HEADER_TIMEOUT_SECONDS = 1.0
# Time allowed beyond a limit for the server to act on it: a loaded 2-core machine is slow.
SLACK_SECONDS = 2.0
MAX_HEADER_BYTES: int = HttpSettings.model_fields["max_header_bytes"].default
MAX_HEADER_COUNT: int = HttpSettings.model_fields["max_header_count"].default
REQUEST_LINE = b"GET /health/live HTTP/1.1\r\nHost: test\r\n"


@pytest.fixture(scope="module", params=["accounts serve", "gunicorn"])
def address(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, int]]:
    """The server's (host, port), with the default limits and a short header timeout."""
    directory = tmp_path_factory.mktemp("server-limits")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ACCOUNTS_")},
        "ACCOUNTS_DATABASE_URL": f"sqlite+aiosqlite:///{directory / 'limits.db'}",
        "ACCOUNTS_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT_SECONDS),
        "ACCOUNTS_LOG_LEVEL": "WARNING",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    process: subprocess.Popen[bytes]
    if request.param == "gunicorn":
        gunicorn = start_gunicorn(env, directory / "gunicorn.log")
        process, base_url = gunicorn.process, gunicorn.base_url
    else:
        process, base_url = start_accounts_serve(env, directory / "serve.log", cwd=directory)
    try:
        url = urlsplit(base_url)
        assert url.hostname is not None
        assert url.port is not None
        yield url.hostname, url.port
    finally:
        if request.param == "gunicorn":
            stop_gunicorn(gunicorn)
        else:
            stop(process)


def _connect(address: tuple[str, int]) -> socket.socket:
    return socket.create_connection(address, timeout=5)


def _answer(connection: socket.socket, timeout: float = 5.0) -> bytes | None:
    """The server's whole answer up to its close; None when it reset the connection instead."""
    connection.settimeout(timeout)
    received = b""
    try:
        while chunk := connection.recv(65536):
            received += chunk
    except ConnectionResetError:
        return None
    return received


def _status(answer: bytes | None) -> int | None:
    if not answer:
        return None
    return int(answer.split(b" ", 2)[1])


def _send(connection: socket.socket, data: bytes) -> bool:
    """Send all of `data`; False when the server closed the connection first."""
    try:
        connection.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        return False
    return True


def _headers(count: int, size: int = 8) -> bytes:
    return b"".join(b"X-Test-%d: %s\r\n" % (index, b"v" * size) for index in range(count))


def _closed_within(connection: socket.socket, seconds: float) -> bool:
    """Whether the server closes (or resets) the connection within `seconds`."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        readable, _, _ = select.select([connection], [], [], left)
        if not readable:
            return False
        try:
            if connection.recv(65536) == b"":
                return True
        except ConnectionResetError:
            return True
    return False


def test_a_head_within_the_limits_is_served(address: tuple[str, int]) -> None:
    # Host plus the others make exactly the most header lines allowed, well under the size.
    head = REQUEST_LINE + _headers(MAX_HEADER_COUNT - 2, size=200) + b"Connection: close\r\n\r\n"
    assert len(head) < MAX_HEADER_BYTES

    with _connect(address) as connection:
        connection.sendall(head)
        answer = _answer(connection)

    assert _status(answer) == 200, answer


def test_an_unfinished_head_one_byte_over_the_size_limit_gets_431(
    address: tuple[str, int],
) -> None:
    head = REQUEST_LINE + b"X-Big: "
    head += b"a" * (MAX_HEADER_BYTES + 1 - len(head))

    with _connect(address) as connection:
        connection.sendall(head)
        answer = _answer(connection)

    assert _status(answer) == 431, answer
    assert answer is not None
    assert b"connection: close" in answer.lower()


def test_a_head_of_megabytes_is_refused_without_being_read_whole(
    address: tuple[str, int],
) -> None:
    head = REQUEST_LINE + b"X-Big: " + b"a" * (10 * 1_048_576) + b"\r\n\r\n"
    started = time.monotonic()

    with _connect(address) as connection:
        sent_whole = _send(connection, head)
        answer = _answer(connection)

    # The server answers 431 and closes; a client still sending may see only the reset.
    assert _status(answer) in {431, None}, answer
    assert not sent_whole or answer is not None
    assert time.monotonic() - started < 5


def test_too_many_header_lines_are_refused(address: tuple[str, int]) -> None:
    head = REQUEST_LINE + _headers(MAX_HEADER_COUNT) + b"\r\n"

    with _connect(address) as connection:
        connection.sendall(head)
        answer = _answer(connection)

    assert _status(answer) in {400, 431}, answer


def test_a_hundred_thousand_header_lines_are_refused(address: tuple[str, int]) -> None:
    head = REQUEST_LINE + _headers(100_000, size=1) + b"\r\n"

    with _connect(address) as connection:
        _send(connection, head)
        answer = _answer(connection)

    assert _status(answer) in {400, 431, None}, answer


def test_a_trickled_head_is_cut_off_after_the_header_timeout(address: tuple[str, int]) -> None:
    started = time.monotonic()
    with _connect(address) as connection:
        connection.sendall(b"GET /health/live HTTP/1.1\r\n")
        closed = False
        for index in range(int((HEADER_TIMEOUT_SECONDS + SLACK_SECONDS) / 0.2)):
            if not _send(connection, b"X-Trickle-%d: y\r\n" % index) or _closed_within(
                connection, 0.2
            ):
                closed = True
                break
        elapsed = time.monotonic() - started

    assert closed
    assert HEADER_TIMEOUT_SECONDS - 0.1 <= elapsed < HEADER_TIMEOUT_SECONDS + SLACK_SECONDS


def test_a_connection_that_sends_nothing_is_closed_after_the_header_timeout(
    address: tuple[str, int],
) -> None:
    with _connect(address) as connection:
        closed = _closed_within(connection, HEADER_TIMEOUT_SECONDS + SLACK_SECONDS)

    assert closed


def test_an_idle_kept_alive_connection_outlives_the_header_timeout(
    address: tuple[str, int],
) -> None:
    with _connect(address) as connection:
        connection.sendall(REQUEST_LINE + b"\r\n")
        first = connection.recv(65536)
        # Idle between requests: the keep-alive timeout applies here, not the header timeout.
        time.sleep(HEADER_TIMEOUT_SECONDS + 0.5)
        connection.sendall(REQUEST_LINE + b"Connection: close\r\n\r\n")
        second = _answer(connection)

    assert _status(first) == 200, first
    assert _status(second) == 200, second


def test_a_large_body_does_not_count_towards_the_head(address: tuple[str, int]) -> None:
    # A form the token endpoint reads whole before it refuses the grant type.
    body = b"grant_type=none&padding=" + b"x" * (4 * MAX_HEADER_BYTES)
    head = (
        b"POST /api/v1/auth/token HTTP/1.1\r\nHost: test\r\nConnection: close\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n"
    )
    request = head % len(body) + body

    with _connect(address) as connection:
        connection.sendall(request)
        answer = _answer(connection)

    assert _status(answer) == 400, answer
    assert answer is not None
    assert b'"unsupported_grant_type"' in answer
