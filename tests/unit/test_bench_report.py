"""The benchmark's figures: percentiles, summaries, tables and the report against the target."""

from __future__ import annotations

import pytest

from bench.__main__ import markdown
from bench.report import percentile, summary, table


def test_percentile_is_the_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.50) == 50.0
    assert percentile(values, 0.95) == 95.0
    assert percentile(values, 0.99) == 99.0
    assert percentile([7.0], 0.95) == 7.0


def test_summary_counts_turns_per_second() -> None:
    row = summary([10.0, 20.0, 30.0, 40.0], 2.0, concurrent=20, paced=False)
    assert row["concurrent"] == 20 and row["paced"] is False
    assert (row["turns"], row["turns_per_second"], row["mean_ms"], row["max_ms"]) == (
        4,
        2.0,
        25.0,
        40.0,
    )


def test_table_aligns_figures_right() -> None:
    assert table(["config", "turns/s"], [["ours", 31.9]]) == [
        "| config | turns/s |",
        "|---|---:|",
        "| ours | 31.9 |",
    ]


def load_row(concurrent: int, paced: bool, turns_per_second: float, p95: float) -> dict:
    return {
        "concurrent": concurrent,
        "paced": paced,
        "turns": 100,
        "p50_ms": p95 / 2,
        "p95_ms": p95,
        "p99_ms": p95 * 1.2,
        "turns_per_second": turns_per_second,
    }


@pytest.fixture
def result() -> dict:
    def system(back_to_back: float, paced_p95: float) -> dict:
        return {
            "load": [load_row(20, False, back_to_back, 900.0), load_row(20, True, 4.8, paced_p95)],
            "peak_memory_mb": {"rasa": 1200.0, "actions": 150.0},
        }

    scores = {"examples": 600, "accuracy": 0.9, "macro_f1": 0.88}
    return {
        "machine": "x86_64, Linux, Python 3.10.14",
        "cpus": 2,
        "date": "2026-11-23",
        "training_seconds": {"ours": 236.0, "stock": 1007.0},
        "system": {"ours": system(30.0, 80.0), "stock": system(20.0, 120.0)},
        "nlu": {"ours-held-out": {"ours": scores, "stock": {**scores, "accuracy": 0.85}}},
    }


def test_report_states_the_target_side_by_side(result: dict) -> None:
    report = markdown(result)
    assert "ours 30.0 turns/s, stock 20.0 turns/s: 1.50× (target 3×)" in report
    assert "ours 80.0 ms, stock 120.0 ms (target < 100 ms)" in report
    assert "ours 0.9, stock 0.85" in report
    assert "| ours-held-out | stock | 600 | 0.85 | 0.88 |" in report
    assert "- stock: 1007 s" in report
