"""Training from scratch, timed: our bot's data with a configuration, and the moodbot of `rasa init`.

Each training has an empty Rasa cache of its own, so nothing is reused
from an earlier one; the time is the whole command's, wall clock.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from bot.infra.settings import ROOT

RASA = Path(sys.executable).parent / "rasa"


def _run(argv: list[str], cwd: Path, cache: Path, log: Path) -> float:
    """Run a Rasa command with its own empty cache; the seconds it took."""
    env = {**os.environ, "RASA_CACHE_DIRECTORY": str(cache), "RASA_TELEMETRY_ENABLED": "false"}
    started = time.monotonic()
    with log.open("w") as output:
        subprocess.run(argv, cwd=cwd, env=env, check=True, stdout=output, stderr=subprocess.STDOUT)
    return time.monotonic() - started


def train(config: Path, out: Path, name: str) -> tuple[Path, float]:
    """`rasa train` of our data and domain with `config`; the model and the seconds."""
    out.mkdir(parents=True, exist_ok=True)
    argv = [str(RASA), "train", "--config", str(config), "--domain", str(ROOT / "domain")]
    argv += ["--data", str(ROOT / "data"), "--out", str(out), "--fixed-model-name", name]
    seconds = _run(argv, ROOT, out / f"cache-{name}", out / f"train-{name}.log")
    return out / f"{name}.tar.gz", seconds


def init_moodbot(parent: Path) -> tuple[Path, Path, float]:
    """`rasa init --no-prompt` in parent/moodbot: the project, its model, and the
    seconds of the whole command (it copies the template, then trains)."""
    project = parent / "moodbot"
    project.mkdir(parents=True)
    argv = [str(RASA), "init", "--no-prompt", "--init-dir", str(project)]
    seconds = _run(argv, parent, parent / "cache-moodbot", parent / "init-moodbot.log")
    return project, max((project / "models").glob("*.tar.gz")), seconds
