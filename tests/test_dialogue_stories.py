"""The test stories in tests/stories against the trained model, with `rasa test core`.

`--e2e` makes Rasa parse each story's user text with the model's NLU and
compare intent and entities with the story; without it the texts are not
looked at. Rasa does not run custom actions in this test, so the stories
spell out the slots and form events the actions return.

`--fail-on-prediction-errors` stops at the first wrong prediction, before Rasa
writes `failed_test_stories.yml`; the test then runs the stories once more
without it, so that the failure message lists every failed story.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "stadtwerk.tar.gz"
STORIES = ROOT / "tests" / "stories"
RASA = Path(sys.executable).parent / "rasa"
FAILED_FILE = "failed_test_stories.yml"
NO_FAILURES = "None of the test stories failed"
TIMEOUT_SECONDS = 900


def rasa_test_core(out: Path, *, fail_on_errors: bool) -> subprocess.CompletedProcess[str]:
    argv = [str(RASA), "test", "core", "--model", str(MODEL), "--stories", str(STORIES)]
    argv += ["--out", str(out), "--e2e"]
    if fail_on_errors:
        argv.append("--fail-on-prediction-errors")
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run(
        argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_SECONDS
    )


def failed_stories(out: Path) -> str | None:
    path = out / FAILED_FILE
    return path.read_text(encoding="utf-8") if path.exists() else None


def summary(failed: str) -> str:
    """One line per wrong prediction, under the name of its story."""
    lines: list[str] = []
    story = shown = ""
    for line in failed.splitlines():
        if line.startswith("- story:"):
            story = line.removeprefix("- story:").strip()
        elif "# predicted:" in line:
            if shown != story:
                lines.append(f"{story}:")
                shown = story
            lines.append(f"    {line.strip()}")
    return "\n".join(lines)


def first_error(output: str) -> str:
    """The exception Rasa raised at the first wrong prediction, without colour codes."""
    output = re.sub(r"\x1b\[[0-9;]*m", "", output)
    start = output.rfind("WrongPredictionException")
    return output[start:] if start >= 0 else "\n".join(output.splitlines()[-20:])


def test_dialogue_stories(tmp_path: Path) -> None:
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make setup` first")
    assert sorted(STORIES.glob("test_*.yml")), f"no test stories (test_*.yml) in {STORIES}"

    out = tmp_path / "results"
    run = rasa_test_core(out, fail_on_errors=True)
    failed = failed_stories(out)
    if run.returncode == 0 and failed is not None and NO_FAILURES in failed:
        return

    if failed is None or NO_FAILURES in failed:
        # Stopped at the first wrong prediction: run again to list every failure.
        rasa_test_core(tmp_path / "all", fail_on_errors=False)
        failed = failed_stories(tmp_path / "all") or "(rasa wrote no failed_test_stories.yml)"
    pytest.fail(
        f"`rasa test core` failed (exit code {run.returncode}).\n\n"
        f"--- wrong predictions ---\n{summary(failed)}\n\n"
        f"--- {FAILED_FILE} ---\n{failed}\n"
        f"--- the run with --fail-on-prediction-errors stopped with ---\n"
        f"{first_error(run.stdout + run.stderr)}",
        pytrace=False,
    )
