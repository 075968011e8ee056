"""One Redis pipeline per turn of the event loop for the calls of one Lua script.

Why: under load, one write and one read for all the calls of a turn instead of one each saves
about a tenth of a request's instructions and a connection per concurrent request
(bench/request_instructions.py --concurrency 32; figures in bench/RESULTS.md).
"""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError, RedisError, ResponseError

Reply = list[int] | Exception
_Call = tuple[list[str], list[int], "asyncio.Future[Reply]"]


class PipelinePerTurn:
    """Runs a script for every call made in one turn of the loop, together, on the next turn.

    Each call still runs its own script, so no call waits on another's decision, and each gets
    its own reply or error: a broken key (WRONGTYPE) fails only its call.
    """

    def __init__(self, redis: Redis, script: AsyncScript) -> None:
        self._redis = redis
        self._script = script
        self._waiting: list[_Call] = []
        # Kept so that they are not garbage-collected mid-flight, and awaited by `drain`.
        self._in_flight: set[asyncio.Task[None]] = set()

    async def call(self, keys: list[str], args: list[int]) -> Reply:
        """The script's reply, or the error that kept this call from one."""
        loop = asyncio.get_running_loop()
        if not self._waiting:
            loop.call_soon(self._send_waiting)
        reply: asyncio.Future[Reply] = loop.create_future()
        self._waiting.append((keys, args, reply))
        return await reply

    async def drain(self) -> None:
        """Answer every call already made."""
        while self._waiting or self._in_flight:
            self._send_waiting()
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    def _send_waiting(self) -> None:
        calls, self._waiting = self._waiting, []
        if calls:
            task = asyncio.get_running_loop().create_task(self._send(calls))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

    async def _send(self, calls: list[_Call]) -> None:
        try:
            replies = await self._run(calls)
        except (RedisError, OSError) as error:  # the connection's failure is every caller's
            replies = [error] * len(calls)
        except BaseException:
            for *_, reply in calls:  # none may wait forever, whatever went wrong
                reply.cancel()
            raise
        for (*_, reply), result in zip(calls, replies, strict=True):
            if not reply.done():  # a caller that gave up has nobody left to answer
                reply.set_result(result)

    async def _run(self, calls: list[_Call]) -> list[Reply]:
        if len(calls) == 1:  # a lone call costs less without a pipeline
            [(keys, args, _)] = calls
            return [await self._evalsha(keys, args)]
        pipeline = self._redis.pipeline(transaction=False)
        for keys, args, _ in calls:
            pipeline.evalsha(self._script.sha, len(keys), *keys, *args)
        replies: list[Reply] = await pipeline.execute(raise_on_error=False)
        for index, (keys, args, _) in enumerate(calls):
            if isinstance(replies[index], NoScriptError):  # not run: load it, run it again
                replies[index] = await self._evalsha(keys, args)
        return replies

    async def _evalsha(self, keys: list[str], args: list[int]) -> Reply:
        # `AsyncScript` loads the script again after a NOSCRIPT (a Redis restart or flush).
        try:
            reply: list[int] = await self._script(keys, args)
        except ResponseError as error:
            return error
        return reply


class EachCallAlone:
    """`PipelinePerTurn`'s interface without the pipeline: each call is its own `EVALSHA`."""

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
