"""What `make setup` decides and shows: the model it checks, pip's progress.

scripts/train_if_needed.py checks the model the launcher starts (the newest in
models/), notices one trained by hand and says what it does with it;
scripts/pip_progress.py turns pip's output into a line per package.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bot.ops.launcher import latest_model
from scripts import pip_progress, train_if_needed
from scripts.train_if_needed import decide, newest_model, write_stamp

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A repository with one input of the model and an empty models/."""
    (tmp_path / "config.yml").write_text("recipe: default.v1\n")
    (tmp_path / "models").mkdir()
    set_mtime(tmp_path / "config.yml", 1_000)
    return tmp_path


def set_mtime(path: Path, seconds: float) -> None:
    os.utime(path, (seconds, seconds))


def model(root: Path, name: str, trained_at: float, content: bytes = b"model") -> Path:
    path = root / "models" / name
    path.write_bytes(content)
    set_mtime(path, trained_at)
    return path


def trained_by_setup(root: Path) -> Path:
    """models/stadtwerk.tar.gz as setup trains it: with its record."""
    trained = model(root, "stadtwerk.tar.gz", 2_000)
    write_stamp(root / "models", train_if_needed.fingerprint(root), trained)
    return trained


def test_no_model_is_trained(root: Path) -> None:
    decision = decide(root, root / "models")
    assert decision.train and "no model" in decision.reason


def test_the_model_setup_trained_is_kept_until_an_input_changes(root: Path) -> None:
    trained_by_setup(root)
    decision = decide(root, root / "models")
    assert not decision.train
    assert decision.reason == "models/stadtwerk.tar.gz is up to date"

    (root / "config.yml").write_text("recipe: default.v1\nlanguage: de\n")
    decision = decide(root, root / "models")
    assert decision.train and "changed" in decision.reason


def test_a_model_trained_by_hand_after_the_last_change_is_used(root: Path) -> None:
    trained_by_setup(root)
    # `rasa train` without a fixed name: a newer models/<timestamp>.tar.gz
    by_hand = model(root, "20261206-120000-brave-lion.tar.gz", 3_000)
    decision = decide(root, root / "models")
    assert not decision.train and decision.adopt == by_hand
    assert "trained by hand" in decision.reason and "using it" in decision.reason

    # recorded, it is setup's model from then on
    write_stamp(root / "models", train_if_needed.fingerprint(root), by_hand)
    assert decide(root, root / "models").reason.endswith("is up to date")


def test_a_model_trained_by_hand_before_a_change_is_replaced(root: Path) -> None:
    trained_by_setup(root)
    model(root, "20261206-120000-brave-lion.tar.gz", 3_000)
    (root / "config.yml").write_text("recipe: default.v1\nlanguage: tr\n")
    set_mtime(root / "config.yml", 4_000)
    decision = decide(root, root / "models")
    assert decision.train and decision.adopt is None
    assert "trained by hand" in decision.reason and "older than the last change" in decision.reason


def test_stadtwerk_tar_gz_overwritten_by_hand_is_noticed(root: Path) -> None:
    trained_by_setup(root)
    # `make train` / `rasa train --fixed-model-name stadtwerk`: same name, other content
    overwritten = model(root, "stadtwerk.tar.gz", 3_000, b"another model")
    decision = decide(root, root / "models")
    assert decision.adopt == overwritten and "trained by hand" in decision.reason


def test_the_older_record_still_counts(root: Path) -> None:
    model(root, "stadtwerk.tar.gz", 500)  # older than the input: only the record vouches
    (root / "models" / ".fingerprint").write_text(train_if_needed.fingerprint(root))
    assert not decide(root, root / "models").train


def test_setup_checks_the_model_the_launcher_starts(root: Path) -> None:
    model(root, "stadtwerk.tar.gz", 2_000)
    newer = model(root, "20261206-120000-brave-lion.tar.gz", 3_000)
    assert newest_model(root / "models") == newer
    if newest_model() is not None:  # this repository's models/: the same choice
        assert newest_model() == latest_model()


def test_pip_progress_is_a_line_per_package() -> None:
    pip_output = [
        "Looking in indexes: https://pypi.org/simple, file:///opt/pypi/simple",
        "WARNING: Location 'file:///opt/pypi/simple/absl-py/' is ignored: it is neither a file"
        " nor a directory.",
        "Collecting absl-py==1.4.0 (from -r requirements.lock (line 2))",
        "  Downloading absl_py-1.4.0-py3-none-any.whl (126 kB)",
        "     ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ 1.8/1.8 MB 198.6 MB/s eta 0:00:00",
        "Processing /opt/pypi/files/babel-2.18.0-py3-none-any.whl (from -r requirements.lock)",
        "Requirement already satisfied: attrs==22.1.0 in ./.venv/lib/python3.10/site-packages",
        "WARNING: Retrying (Retry(total=4)) after connection broken",
        "Installing collected packages: babel, absl-py",
        "  Attempting uninstall: babel",
        "    Found existing installation: babel 2.17.0",
        "Successfully installed absl-py-1.4.0 babel-2.18.0",
        "ERROR: No matching distribution found for nothing==1.0",
    ]
    assert list(pip_progress.progress(pip_output, 3)) == [
        "  [1/3] absl-py==1.4.0 (collecting)",
        "  [2/3] babel-2.18.0-py3-none-any.whl (from a local file)",
        "  [3/3] attrs==22.1.0 (already installed)",
        "WARNING: Retrying (Retry(total=4)) after connection broken",
        "  installing 2 packages ...",
        "  installed",
        "ERROR: No matching distribution found for nothing==1.0",
    ]


def test_pip_progress_counts_the_lock_files_packages() -> None:
    lock = ROOT / "requirements.lock"
    pinned = [line for line in lock.read_text().splitlines() if "==" in line]
    assert pip_progress.requirement_count(lock) == len(pinned) > 100


def test_the_record_names_the_model(root: Path) -> None:
    trained = trained_by_setup(root)
    record = json.loads((root / "models" / ".fingerprint").read_text())
    assert record["model"] == trained.name
    assert record["inputs"] == train_if_needed.fingerprint(root)
