"""Process-wide tuning for a server process: its garbage collector."""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Collect once, then freeze what is left: the app, its routes, schemas and services.

    CPython's full (generation 2) collection walks every tracked object, so in a worker
    serving requests it stopped the event loop for 50-60 ms each time, about once a second
    under load (~150,000 objects, nearly all built at start-up and alive for the life of the
    process; it found nothing to free). Every request in flight waited out each pause: that
    was the p99 of `GET /users/me`. Frozen objects (`gc.freeze`) are skipped by every later
    collection but still freed by reference counting; only a reference cycle among them would
    outlive its use, and the collection just before the freeze leaves none behind.
    """
    gc.collect()
    gc.freeze()
