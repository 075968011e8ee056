"""Throughput by Gunicorn worker count: `make bench-workers` (needs `wrk`, Postgres, Redis).

The harness of `make bench` (bench/run.py) at 1, 2 and 4 workers per core, on
`GET /api/v1/users/me` with a bearer token and `GET /health/live`, each beside the bare app at
the same worker count. gunicorn.conf.py's default comes from it. Extra arguments go to run.py
(e.g. `--seconds 10 --connections 64,256`).
"""

from __future__ import annotations

import os
import sys

from run import main

if __name__ == "__main__":
    cores = len(os.sched_getaffinity(0))
    main(
        [
            "--workers",
            ",".join(str(per_core * cores) for per_core in (1, 2, 4)),
            "--scenarios",
            "me_bearer,live",
            "--connections",
            "64",
            "--seconds",
            "8",
            "--no-save",
            *sys.argv[1:],
        ]
    )
