"""Train the Rasa model only when its inputs changed, and say what was decided.

The fingerprint covers everything that shapes the model: config, domain,
training data and our NLU components. `rasa train` would find out too, but
only after seconds of start-up; this check takes milliseconds.

The launcher starts the newest models/*.tar.gz (bot/ops/launcher.py
`latest_model`), so that is the model checked here. models/.fingerprint
records the inputs' fingerprint and the model it was trained into (name and
SHA-256). A newest model that is not that one was trained by hand (`rasa
train`, `make train`): it is used when it is newer than every input (it was
trained after their last change), and a new model is trained otherwise.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bot.ops.launcher import newest_model

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
MODEL_NAME = "stadtwerk"
STAMP_NAME = ".fingerprint"
INPUTS = [
    "config.yml",
    "domain",
    "data",
    "nlu_components",
    "bot/domain/text.py",
    "bot/domain/language.py",
    "bot/domain/languages.py",
    "bot/domain/bill_questions.py",
    "bot/domain/parsing.py",
]


def input_files(root: Path = ROOT) -> Iterator[Path]:
    """Every file that shapes the model, in a fixed order."""
    for entry in INPUTS:
        path = root / entry
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in files:
            if file.is_file() and "__pycache__" not in file.parts:
                yield file


def fingerprint(root: Path = ROOT) -> str:
    digest = hashlib.sha256()
    for file in input_files(root):
        digest.update(str(file.relative_to(root)).encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()


def inputs_changed_at(root: Path = ROOT) -> float:
    """When an input of the model last changed (a checkout counts as a change)."""
    return max((file.stat().st_mtime for file in input_files(root)), default=0.0)


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_stamp(models: Path) -> dict[str, str]:
    """What the last training here recorded; empty when nothing was."""
    try:
        text = (models / STAMP_NAME).read_text().strip()
    except OSError:
        return {}
    ours = models / f"{MODEL_NAME}.tar.gz"
    if re.fullmatch("[0-9a-f]{64}", text) and ours.exists():
        # the older format: the fingerprint alone, of the inputs of stadtwerk.tar.gz
        return {"inputs": text, "model": ours.name, "sha256": file_digest(ours)}
    try:
        stamp = json.loads(text)
    except ValueError:
        return {}
    return stamp if isinstance(stamp, dict) else {}


def write_stamp(models: Path, inputs: str, model: Path) -> None:
    stamp = {"inputs": inputs, "model": model.name, "sha256": file_digest(model)}
    (models / STAMP_NAME).write_text(json.dumps(stamp, indent=2) + "\n")


@dataclass(frozen=True)
class Decision:
    """Whether to train, and the sentence that says why."""

    train: bool
    reason: str
    # a model trained by hand that is used as it is: record it as trained from these inputs
    adopt: Path | None = None


def decide(root: Path = ROOT, models: Path = MODELS) -> Decision:
    """Train or not, for the inputs under `root` and the models in `models`."""
    model = newest_model(models)
    if model is None:
        return Decision(True, "no model in models/ yet")
    shown = model.relative_to(root) if model.is_relative_to(root) else model
    stamp = read_stamp(models)
    ours = stamp.get("model") == model.name and stamp.get("sha256") == file_digest(model)
    if ours and stamp.get("inputs") == fingerprint(root):
        return Decision(False, f"{shown} is up to date")
    if ours:
        return Decision(True, f"config, domain or data changed since {shown} was trained")
    # The newest model is not the one recorded here: `rasa train` or `make train` by hand.
    unknown = f"{shown} is not the model setup trained (trained by hand?)"
    if model.stat().st_mtime >= inputs_changed_at(root):
        reason = (
            f"{unknown} and newer than the last change of config, domain and data: "
            "using it (the launcher starts the newest model in models/)"
        )
        return Decision(False, reason, adopt=model)
    reason = (
        f"{unknown} and older than the last change of config, domain or data: "
        f"training a new models/{MODEL_NAME}.tar.gz"
    )
    return Decision(True, reason)


def train(root: Path = ROOT) -> int:
    """`rasa train` into models/stadtwerk.tar.gz, saying how long it took."""
    rasa = Path(sys.executable).parent / "rasa"
    argv = [str(rasa), "train", "--domain", "domain", "--fixed-model-name", MODEL_NAME]
    started = time.monotonic()
    result = subprocess.run([*argv, "--out", "models"], cwd=root)
    took = round(time.monotonic() - started)
    outcome = "trained" if result.returncode == 0 else f"training failed (exit {result.returncode})"
    print(f"==> {outcome} in {took // 60} min {took % 60} s", flush=True)
    return result.returncode


def main() -> int:
    decision = decide()
    current = fingerprint()
    if decision.adopt is not None:
        write_stamp(MODELS, current, decision.adopt)
    if not decision.train:
        print(f"==> model: {decision.reason}", flush=True)
        return 0
    print(f"==> model: {decision.reason}; training (about 2 minutes)", flush=True)
    code = train()
    if code == 0:
        write_stamp(MODELS, current, MODELS / f"{MODEL_NAME}.tar.gz")
        started = newest_model(MODELS)
        assert started is not None  # training just wrote one
        print(f"==> the launcher starts {started.relative_to(ROOT)}, the newest in models/")
    return code


if __name__ == "__main__":
    sys.exit(main())
