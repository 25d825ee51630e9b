"""The benchmarks' progress lines (bench/progress.py): on stderr, timed, with what comes next."""

from __future__ import annotations

import re

import pytest

from bench.progress import Progress, clock


def test_the_clock() -> None:
    assert clock(0) == "00:00"
    assert clock(754.9) == "12:34"
    assert clock(3 * 3600 + 5) == "3:00:05"


def test_each_phase_says_its_number_time_and_what_follows(
    capsys: pytest.CaptureFixture[str],
) -> None:
    progress = Progress(["starting the servers", "warm-up"])
    with progress.phase("starting the servers"):
        progress.say("  a figure")
    with progress.phase("warm-up"):
        pass

    captured = capsys.readouterr()
    assert captured.out == ""  # the results and reports keep stdout to themselves
    lines = [re.sub(r"^\[\d\d:\d\d\] ", "", line) for line in captured.err.splitlines()]
    assert lines == [
        "1/2 starting the servers ...",
        "  a figure",
        "1/2 starting the servers: done in 00:00; next: warm-up",
        "2/2 warm-up ...",
        "2/2 warm-up: done in 00:00; next: the report",
    ]
