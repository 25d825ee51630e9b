"""The benchmark's figures: percentiles, summaries, tables and the report against the targets."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.__main__ import markdown, stem
from bench.report import generator_cpu, percentile, summary, table, turn_profile
from bench.system_report import chart, generator_peak, targets


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


def test_the_generator_cpu_is_a_share_of_one_core() -> None:
    assert generator_cpu(1.5, 10.0) == {
        "wall_seconds": 10.0,
        "generator_cpu_seconds": 1.5,
        "generator_cpu_percent": 15.0,
    }
    assert generator_cpu(0.0, 0.0)["generator_cpu_percent"] == 0.0


def test_turn_profile_compares_the_first_and_the_last_turns() -> None:
    # turn t takes 10 + t ms in the first conversation, 20 + t in the second, 30 + t in the third
    series = [[base + turn for turn in range(1, 51)] for base in (10.0, 20.0, 30.0)]
    profile = turn_profile(series)
    assert (profile["conversations"], profile["turns"], profile["window"]) == (3, 50, 10)
    assert (profile["turn_1_ms"], profile["turn_last_ms"]) == (21.0, 70.0)
    assert profile["ratio_single"] == round(70 / 21, 2)
    # turns 1-10 of all three pooled: median 25.5; turns 41-50: 65.5
    assert (profile["first_window_ms"], profile["last_window_ms"]) == (25.5, 65.5)
    assert profile["ratio_window"] == round(65.5 / 25.5, 2)
    assert (
        profile["per_turn_median_ms"][:2] == [21.0, 22.0]
        and len(profile["per_turn_median_ms"]) == 50
    )


def load_row(
    concurrent: int, paced: bool, turns_per_second: float, p95: float, cpu_percent: float = 4.0
) -> dict:
    return {
        "concurrent": concurrent,
        "paced": paced,
        "conversations": 60,
        "turns": 100,
        "p50_ms": p95 / 2,
        "p95_ms": p95,
        "p99_ms": p95 * 1.2,
        "turns_per_second": turns_per_second,
        "wall_seconds": 10.0,
        "generator_cpu_seconds": cpu_percent / 10,
        "generator_cpu_percent": cpu_percent,
    }


def long_run(first: float, last: float) -> dict:
    series = [[first] * 10 + [(first + last) / 2] * 30 + [last] * 10 for _ in range(5)]
    return {
        **turn_profile(series),
        "turns_without_answer": 0,
        "latencies_ms": series,
        **generator_cpu(0.5, 20.0),
    }


def system(
    back_to_back: float,
    paced_p95: float,
    rasa_mb: float = 1200.0,
    parse_ms: float = 4.0,
    long: tuple[float, float] = (40.0, 44.0),
    generator_percent: float = 4.0,
) -> dict:
    memory = {"rasa": {"peak_mb": rasa_mb, "current_mb": rasa_mb - 50}}
    return {
        "description": "a system",
        "training": {"seconds": 236.0, "how": "`rasa train`"},
        "load": [
            load_row(1, False, back_to_back / 2, 60.0),
            load_row(20, False, back_to_back, 900.0, generator_percent),
            load_row(20, True, 4.8, paced_p95),
            load_row(100, True, 24.0, paced_p95 * 3),
        ],
        "long": long_run(*long),
        "parse": {
            "messages": 200,
            "warm_up": 20,
            "median_ms": parse_ms,
            "p95_ms": parse_ms * 2,
            "mean_ms": parse_ms * 1.1,
            "model_load_seconds": 9.0,
        },
        "memory_mb": memory,
    }


@pytest.fixture
def result() -> dict:
    scores = {"examples": 600, "accuracy": 0.9, "macro_f1": 0.88}
    stock = system(20.0, 120.0)
    stock["training"]["seconds"] = 1007.0
    stock["memory_mb"]["actions"] = {"peak_mb": 150.0, "current_mb": 140.0}
    return {
        "machine": "x86_64, Linux, Python 3.10.14",
        "cpus": 2,
        "date": "2026-11-23",
        "commit": "abc1234",
        "systems": {
            "ours": system(30.0, 80.0),
            "stock": stock,
            "moodbot": system(10.0, 30.0, rasa_mb=500.0, parse_ms=2.0, generator_percent=9.5),
        },
        "nlu": {"ours-held-out": {"ours": scores, "stock": {**scores, "accuracy": 0.85}}},
    }


def test_report_states_the_target_side_by_side(result: dict) -> None:
    report = markdown(result)
    assert "ours 30.0 turns/s, stock 20.0 turns/s: 1.50× (target ≥ 3×): not met" in report
    assert "ours 30.0 turns/s, moodbot 10.0 turns/s: 3.00× (target ≥ 3×): met" in report
    assert (
        "ours 80.0 ms (target < 100 ms): met; for comparison stock 120.0 ms, moodbot 30.0 ms."
        in report
    )
    assert "ours 0.9, stock 0.85 (target: at least stock's): met" in report
    assert "| ours-held-out | stock | 600 | 0.85 | 0.88 |" in report
    assert "| stock | `rasa train` | 1007 |" in report
    assert "commit abc1234." in report


def test_targets_say_met_or_not_met(result: dict) -> None:
    ours = result["systems"]["ours"]
    ours["memory_mb"]["rasa"]["peak_mb"] = 1369.1
    ours["parse"]["median_ms"] = 6.2
    ours["long"] = long_run(40.0, 60.0)
    lines = "\n".join(targets(result))
    # paced at 100: 240 ms
    assert "100 concurrent conversations paced like people typing: ours 240.0 ms" in lines
    assert "(target < 100 ms): not met" in lines
    assert "median 6.2 ms, p95 8.0 ms (target ≤ 5 ms): not met" in lines
    assert "peak 1369.1 MB, at the end 1150.0 MB (target < 800 MB): not met" in lines
    assert (
        "turns 41–50 median 60.0 ms against turns 1–10 40.0 ms: 1.50× (target ≤ 1.2×): not met"
        in lines
    )

    ours["memory_mb"]["rasa"]["peak_mb"] = 640.0
    ours["parse"]["median_ms"] = 3.1
    ours["long"] = long_run(40.0, 44.0)
    result["nlu"]["ours-held-out"]["ours"]["accuracy"] = 0.8
    lines = "\n".join(targets(result))
    assert "(target ≤ 5 ms): met" in lines
    assert "(target < 800 MB): met" in lines
    assert "1.10× (target ≤ 1.2×): met" in lines
    assert "ours 0.8, stock 0.85 (target: at least stock's): not met" in lines


def test_targets_of_a_partial_run_say_what_was_not_measured(result: dict) -> None:
    partial = {**result, "systems": {"moodbot": result["systems"]["moodbot"]}, "nlu": {}}
    lines = targets(partial)
    assert lines[0] == "## Against the targets"
    measured = [line for line in lines if line.startswith("- ")]
    assert len(measured) == 8 and all("not measured in this run" in line for line in measured)
    report = markdown({**partial, "quick": True, "only": ["moodbot"]})
    assert "a quick smoke run (`--quick`); only moodbot (`--only`)." in report
    intents = report.split("## Intent classification")[1]
    assert "Not measured in this run." in intents and "| data |" not in intents


def test_report_shows_turn_1_against_turn_50(result: dict) -> None:
    report = markdown(result)
    assert "turn 1 alone 40.0 ms, turn 50 44.0 ms (1.10×)" in report
    assert "| ours | 5 × 50 | 40.0 | 44.0 | 1.10× | 40.0 | 44.0 | 1.10× | 0 | 2.5 |" in report


def test_report_shows_the_generator_cpu_of_every_run(result: dict) -> None:
    report = markdown(result)
    assert "| ours | 20 | 60 | 100 | 450.0 | 900.0 | 1080.0 | 30.0 | 0.4 | 4.0 |" in report
    assert generator_peak(result) == (9.5, "moodbot, 20 concurrent, back to back")
    assert "used at most 9.5 % of one core (moodbot, 20 concurrent, back to back)" in report


def test_report_lists_parse_time_and_memory_per_process(result: dict) -> None:
    report = markdown(result)
    assert "| moodbot | 200 | 2.0 | 4.0 | 2.2 | 9.0 |" in report
    assert "| stock | actions | 150.0 | 140.0 |" in report


def test_chart_is_written(result: dict, tmp_path: Path) -> None:
    path = tmp_path / "system.png"
    chart(result, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    partial = tmp_path / "partial.png"
    chart({**result, "systems": {"moodbot": result["systems"]["moodbot"]}, "nlu": {}}, partial)
    assert partial.stat().st_size > 0


def test_partial_runs_do_not_overwrite_the_full_results() -> None:
    assert stem(quick=False, only=None) == "system"
    assert stem(quick=True, only=None) == "system-quick"
    assert stem(quick=True, only=["moodbot"]) == "system-quick"
    assert stem(quick=False, only=["ours"]) == "system-only"
