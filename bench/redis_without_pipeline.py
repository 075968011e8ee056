"""The Redis rate limiter with every call sent alone: the baseline the per-turn pipeline is
measured against (`request_instructions.py`, `request_cpu.py`: limits `redis-alone`;
`rate_limit_overhead.py`).

`RedisRateLimiter` builds its `PipelinePerTurn` when it is constructed; inside `redis_calls()` it
builds what the block asks for instead: the same pipeline, or `EachCallAlone`, which runs each
call's script as its own `EVALSHA` on a pooled connection the moment it is made, with the same
replies and errors. Nothing in `src/` changes: this is a measurement, not a setting.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from adapters.rate_limiting import redis_rate_limiter
from adapters.rate_limiting.pipeline_per_turn import PipelinePerTurn, Reply


class EachCallAlone:
    """`PipelinePerTurn`'s interface without the pipeline: one `EVALSHA` per call."""

    def __init__(self, script: AsyncScript) -> None:
        self._script = script

    async def call(self, keys: list[str], args: list[int]) -> Reply:
        """The script's reply, or the error that kept this call from one."""
        try:
            reply: list[int] = await self._script(keys, args)
        except (RedisError, OSError) as error:  # ResponseError (WRONGTYPE) is a RedisError
            return error
        return reply

    async def drain(self) -> None:
        """Nothing waits: every call was sent when it was made."""


class _OnClientOfItsOwn:
    """Calls through a client the limiter does not own: closed when the limiter drains."""

    def __init__(self, calls: PipelinePerTurn | EachCallAlone, client: Redis) -> None:
        self._calls = calls
        self._client = client

    async def call(self, keys: list[str], args: list[int]) -> Reply:
        return await self._calls.call(keys, args)

    async def drain(self) -> None:
        await self._calls.drain()
        await self._client.aclose()


@contextlib.contextmanager
def redis_calls(
    *, pipelined: bool, slow_url: str | None = None, timeout: float = 60.0
) -> Iterator[None]:
    """Redis rate limiters constructed inside the block pipeline their calls per turn of the
    event loop (as in production) or send each alone.

    `slow_url`: through a client of their own on that Redis, with `timeout` to connect and read.
    Under callgrind everything runs ~50 times slower, and the limiter's 0.5 s read timeout fires
    on 32 clients' replies, pipelined or not; a timeout costs no instructions either way.
    """

    def build(redis: Redis, script: AsyncScript) -> object:
        client = None
        if slow_url is not None:
            client = Redis.from_url(
                slow_url, socket_connect_timeout=timeout, socket_timeout=timeout
            )
            redis, script = client, client.register_script(script.script)
        calls = PipelinePerTurn(redis, script) if pipelined else EachCallAlone(script)
        return calls if client is None else _OnClientOfItsOwn(calls, client)

    replacement: Callable[[Redis, AsyncScript], object] = build
    redis_rate_limiter.PipelinePerTurn = replacement  # type: ignore[misc,assignment]
    try:
        yield
    finally:
        redis_rate_limiter.PipelinePerTurn = PipelinePerTurn  # type: ignore[misc]
