"""pip's output, one short line per package: `[12/220] absl-py==1.4.0 (downloading)`.

    pip install --no-deps -r requirements.lock 2>&1 | python scripts/pip_progress.py requirements.lock

scripts/setup.sh pipes pip through this, so `make setup` shows how far the
install is instead of minutes of silence (pip --quiet) or screens of detail.
Lines about the package indexes and download sizes are dropped (as are
"Location ... is ignored" warnings about index folders without a package);
every other line, errors first of all, is passed on as it is. The exit code
is pip's (setup.sh uses `set -o pipefail`).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

# the first line pip writes about each requirement of the file, and what it means
PACKAGE_LINES = [
    (re.compile(r"^Collecting (\S+)"), "collecting"),
    (re.compile(r"^Processing (\S+)"), "from a local file"),
    (re.compile(r"^Requirement already satisfied: (\S+)"), "already installed"),
]
# what pip says along the way that tells nothing a newcomer needs
NOISE = re.compile(
    r"^(Looking in (indexes|links):"
    r"|WARNING: Location '.*' is ignored"
    r"|\s+(Downloading|Using cached|Attempting uninstall|Found existing installation"
    r"|Uninstalling|Successfully uninstalled)\b"
    # an older pip's download bar, drawn even into a pipe
    r"|\s*[━╸╺])"
)


def requirement_count(lock_file: Path) -> int:
    """The packages a lock file names (one `name==version` a line, comments aside)."""
    lines = lock_file.read_text(encoding="utf-8").splitlines()
    return sum(1 for line in lines if line.strip() and not line.lstrip().startswith(("#", "-")))


def progress(lines: Iterable[str], total: int) -> Iterator[str]:
    """pip's lines, shortened: a numbered line per package, the rest as it is."""
    seen = 0
    for line in lines:
        line = line.rstrip("\n")
        for pattern, what in PACKAGE_LINES:
            found = pattern.match(line)
            if found:
                seen += 1
                yield f"  [{seen}/{total}] {Path(found.group(1)).name} ({what})"
                break
        else:
            if line.startswith("Installing collected packages:"):
                count = len(line.split(":", 1)[1].split(","))
                yield f"  installing {count} package{'' if count == 1 else 's'} ..."
            elif line.startswith("Successfully installed"):
                yield "  installed"
            elif line.strip() and not NOISE.match(line):
                yield line


def main(argv: list[str]) -> int:
    total = requirement_count(Path(argv[0])) if argv else 1
    for line in progress(sys.stdin, total):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
