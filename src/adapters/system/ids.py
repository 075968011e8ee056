"""Time-ordered UUIDs (RFC 9562 version 7), so keyset pagination by id follows creation order."""

from __future__ import annotations

import secrets
import threading
import time
from uuid import UUID

from application.ports import IdGenerator

_VERSION_7 = 0x7
_VARIANT_RFC = 0b10


class UuidV7Generator(IdGenerator):
    """UUIDv7: 48-bit Unix milliseconds, then a 12-bit counter and 62 random bits.

    The counter (RFC 9562 §6.2 method 1) keeps ids from one process strictly increasing even
    within a millisecond; Python 3.11's `uuid` module has no version 7 yet.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = 0
        self._counter = 0

    def new_id(self) -> UUID:
        with self._lock:
            now_ms = time.time_ns() // 1_000_000
            if now_ms > self._last_ms:
                self._last_ms = now_ms
                self._counter = secrets.randbits(11)
            else:
                self._counter += 1
                if self._counter > 0xFFF:
                    # Counter exhausted within one millisecond: borrow the next millisecond.
                    self._last_ms += 1
                    self._counter = 0
            ms, counter = self._last_ms, self._counter
        value = (ms & 0xFFFF_FFFF_FFFF) << 80
        value |= _VERSION_7 << 76
        value |= counter << 64
        value |= _VARIANT_RFC << 62
        value |= secrets.randbits(62)
        return UUID(int=value)
