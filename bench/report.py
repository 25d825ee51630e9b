"""What every benchmark shares: latency summaries, the machine, and writing results."""

from __future__ import annotations

import json
import os
import platform
import statistics
from pathlib import Path
from typing import Any

from bot.infra.settings import ROOT

RESULTS = ROOT / "bench" / "results"


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (`share` 0.95 for p95)."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))
    return ordered[index]


def summary(timings: list[float], elapsed: float, **extra: Any) -> dict[str, Any]:
    """Per-turn latencies (ms) of a run that took `elapsed` seconds; `extra` first."""
    return {
        **extra,
        "turns": len(timings),
        "p50_ms": round(percentile(timings, 0.50), 1),
        "p95_ms": round(percentile(timings, 0.95), 1),
        "p99_ms": round(percentile(timings, 0.99), 1),
        "max_ms": round(max(timings), 1),
        "mean_ms": round(statistics.fmean(timings), 1),
        "turns_per_second": round(len(timings) / elapsed, 2),
    }


def machine() -> dict[str, Any]:
    return {
        "machine": f"{platform.machine()}, {platform.system()}, Python {platform.python_version()}",
        "cpus": os.cpu_count(),
    }


def table(header: list[str], rows: list[list[Any]], right_from: int = 1) -> list[str]:
    """A Markdown table; columns from `right_from` on are right-aligned."""
    align = ["---" if i < right_from else "---:" for i in range(len(header))]
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(align) + "|",
        *["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows],
    ]


def yes_no(value: bool) -> str:
    return "yes" if value else "no"


def write(stem: str, result: dict[str, Any], markdown: str | None = None) -> Path:
    """bench/results/<stem>.json (and .md when given); the JSON file's path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{stem}.json"
    path.write_text(json.dumps(result, indent=2) + "\n", "utf-8")
    if markdown is not None:
        (RESULTS / f"{stem}.md").write_text(markdown, "utf-8")
    return path
