"""Train the Rasa model only when its inputs changed.

The fingerprint covers everything that shapes the model: config, domain,
training data and our NLU components. `rasa train` would find out too, but
only after seconds of start-up; this check takes milliseconds.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "stadtwerk.tar.gz"
STAMP = ROOT / "models" / ".fingerprint"
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


def fingerprint() -> str:
    digest = hashlib.sha256()
    for entry in INPUTS:
        path = ROOT / entry
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in files:
            if file.is_file() and "__pycache__" not in file.parts:
                digest.update(str(file.relative_to(ROOT)).encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()


def main() -> int:
    current = fingerprint()
    if MODEL.exists() and STAMP.exists() and STAMP.read_text().strip() == current:
        print("==> model is up to date")
        return 0
    print("==> training the model (config, domain or data changed)")
    rasa = Path(sys.executable).parent / "rasa"
    result = subprocess.run(
        [
            str(rasa),
            "train",
            "--domain",
            "domain",
            "--fixed-model-name",
            "stadtwerk",
            "--out",
            "models",
        ],
        cwd=ROOT,
    )
    if result.returncode == 0:
        STAMP.write_text(current)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
