"""Progress lines for the benchmarks, on stderr (the results and reports are untouched).

    progress = Progress(["starting the servers", "warm-up", "paced, 20 at once"])
    with progress.phase("warm-up"):
        ...

prints, with the time since the start:

    [00:41] 2/3 warm-up ...
    [00:44] 2/3 warm-up: done in 00:03; next: paced, 20 at once
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager


def clock(seconds: float) -> str:
    """`mm:ss`, or `h:mm:ss` from an hour on."""
    minutes, second = divmod(int(seconds), 60)
    hours, minute = divmod(minutes, 60)
    return f"{hours}:{minute:02d}:{second:02d}" if hours else f"{minute:02d}:{second:02d}"


class Progress:
    """Numbered phases of one benchmark run, each line with the time since the start."""

    def __init__(self, phases: Sequence[str], *, last: str = "the report") -> None:
        self.phases = list(phases)
        self.last = last  # what follows the last phase
        self.started = time.monotonic()

    def say(self, line: str) -> None:
        """One line on stderr, at once (runs take minutes to hours)."""
        print(f"[{clock(time.monotonic() - self.started)}] {line}", file=sys.stderr, flush=True)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Announce phase `name`, then say how long it took and what comes next."""
        number = self.phases.index(name) + 1
        label = f"{number}/{len(self.phases)} {name}"
        following = self.phases[number] if number < len(self.phases) else self.last
        self.say(f"{label} ...")
        began = time.monotonic()
        yield
        self.say(f"{label}: done in {clock(time.monotonic() - began)}; next: {following}")
