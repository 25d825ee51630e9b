"""`rasa data validate`, with one known notice explained away.

Rasa warns about responses that no story or rule uses; ours are used by
custom actions, channels and the web app (by name). It also warns that a
retrieval intent (`faq`) is "duplicated": the domain lists it, as the
stories' check requires, and Rasa adds it once more from the training data.
This check fails on any other warning, and on a response that neither the
stories/rules nor the action code mention.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UNUSED = re.compile(r"The utterance '(\w+)' is not used in any story or rule")
RETRIEVAL_INTENTS = {"faq"}
DUPLICATED = re.compile(
    r"duplicated intents have been found across multiple domain files: ([\w, ]+)"
)


def _retrieval_only(line: str) -> bool:
    """The "duplicated intents" notice when it names only our retrieval intents."""
    found = DUPLICATED.search(line)
    return bool(found) and {n.strip() for n in found.group(1).split(",")} <= RETRIEVAL_INTENTS


def main() -> int:
    rasa = Path(sys.executable).parent / "rasa"
    run = subprocess.run(
        [str(rasa), "data", "validate", "--domain", "domain"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    output = run.stdout + run.stderr
    # responses are used by name in actions, channels, the Rasa runtime and the web app
    action_code = "\n".join(
        p.read_text()
        for folder in ("actions", "connectors", "bot/rasa_runtime", "bot/web")
        for p in (ROOT / folder).rglob("*.py")
    )
    problems = []
    for name in UNUSED.findall(output):
        prefix = name.rsplit("_", 1)[0]
        if name not in action_code and not any(
            f'"{p}_' in action_code or f"'{p}_" in action_code or f'f"{p}_' in action_code
            for p in (prefix, "utter_label", "utter_faq", "utter_invalid", "utter_bill_balance")
        ):
            problems.append(f"response {name} is used nowhere")
    other = [
        line
        for line in output.splitlines()
        if "UserWarning" in line and not UNUSED.search(line) and not _retrieval_only(line)
    ]
    problems += other
    if run.returncode != 0:
        problems.append(f"rasa data validate failed:\n{output[-2000:]}")
    for problem in problems:
        print("validate:", problem)
    print("rasa data validate: clean" if not problems else "rasa data validate: problems found")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
