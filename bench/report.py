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


def median(values: list[float]) -> float:
    """The median, rounded to 0.1 (ms)."""
    return round(statistics.median(values), 1)


def generator_cpu(cpu_seconds: float, wall_seconds: float) -> dict[str, float]:
    """The load generator's own CPU over a run: seconds and share of one core (%)."""
    return {
        "wall_seconds": round(wall_seconds, 2),
        "generator_cpu_seconds": round(cpu_seconds, 2),
        "generator_cpu_percent": round(100 * cpu_seconds / wall_seconds, 1)
        if wall_seconds
        else 0.0,
    }


def turn_profile(series: list[list[float]], window: int = 10) -> dict[str, Any]:
    """Latency by turn number over long conversations (one list of ms per conversation).

    Turn 1 and the last turn as medians over the conversations, and the
    medians of the first and the last `window` turns (all conversations
    pooled), which are steadier; each pair with its ratio last / first.
    """
    turns = min(len(s) for s in series)
    by_turn = [[s[t] for s in series] for t in range(turns)]
    first = [v for s in series for v in s[:window]]
    last = [v for s in series for v in s[turns - window : turns]]
    profile = {
        "conversations": len(series),
        "turns": turns,
        "window": window,
        "turn_1_ms": median(by_turn[0]),
        "turn_last_ms": median(by_turn[-1]),
        "first_window_ms": median(first),
        "last_window_ms": median(last),
        "per_turn_median_ms": [median(values) for values in by_turn],
    }
    profile["ratio_single"] = _ratio(profile["turn_last_ms"], profile["turn_1_ms"])
    profile["ratio_window"] = _ratio(profile["last_window_ms"], profile["first_window_ms"])
    return profile


def _ratio(later: float, earlier: float) -> float:
    return round(later / earlier, 2) if earlier else 0.0


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
