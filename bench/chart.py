"""The chart `bench/RESULTS.md` shows: req/s and p99 per scenario beside the bare baseline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib as mpl

mpl.use("Agg")
import matplotlib.pyplot as plt


def draw(report: dict[str, Any], path: Path) -> None:
    rows = report["rows"]
    labels = list(dict.fromkeys(r["label"] for r in rows))
    cells = sorted({(r["workers"], r["connections"]) for r in rows})
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(13, 9), sharex=True)
    width = 0.8 / len(cells)
    for index, (workers, connections) in enumerate(cells):
        by_label = {
            r["label"]: r
            for r in rows
            if (r["workers"], r["connections"]) == (workers, connections)
        }
        xs = [n + (index - (len(cells) - 1) / 2) * width for n in range(len(labels))]
        name = f"{workers} worker{'s' if workers > 1 else ''}, {connections} conn"
        top.bar(xs, [by_label.get(lb, {}).get("rps", 0) for lb in labels], width, label=name)
        bottom.bar(xs, [by_label.get(lb, {}).get("p99_ms", 0) for lb in labels], width)
    top.set_yscale("log")
    top.set_ylabel("requests/second (log)")
    top.legend(ncol=3, fontsize=8)
    top.grid(axis="y", alpha=0.3)
    bottom.set_yscale("log")
    bottom.set_ylabel("p99 latency, ms (log)")
    bottom.axhline(1000, color="red", linewidth=0.8, linestyle="--")
    bottom.grid(axis="y", alpha=0.3)
    bottom.set_xticks(range(len(labels)))
    bottom.set_xticklabels(labels, rotation=20, ha="right", fontsize=8)
    machine = report["machine"]
    figure.suptitle(
        f"accounts vs bare FastAPI, same Gunicorn settings: {report['date']}, "
        f"{machine['nproc']} cores, {machine['cpu_model']}",
        fontsize=10,
    )
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
