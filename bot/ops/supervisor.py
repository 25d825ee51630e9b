"""Keep the launcher's processes running: one that dies is started again, with backoff.

A process that exits (crashed, killed, out of memory) is started again after
1 s, then 2 s, 4 s, ... up to 30 s while it keeps dying; once it has stayed up
for a minute, the next restart waits 1 s again. The other processes go on
meanwhile (the edge routes around a Rasa instance that is down), so only
the requests in flight on the dead process fail. Ctrl-C or SIGTERM stops all.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

FIRST_DELAY_SECONDS = 1.0
MAX_DELAY_SECONDS = 30.0
# A process that ran this long was healthy: its next restart starts the backoff again.
STABLE_AFTER_SECONDS = 60.0
STOP_GRACE_SECONDS = 15.0


@dataclass
class Backoff:
    """How long to wait before starting a process again that exited after `ran_for` seconds."""

    first: float = FIRST_DELAY_SECONDS
    cap: float = MAX_DELAY_SECONDS
    stable_after: float = STABLE_AFTER_SECONDS
    failures: int = 0  # quick exits in a row

    def delay(self, ran_for: float) -> float:
        if ran_for >= self.stable_after:
            self.failures = 0
        wait = min(self.cap, self.first * 2**self.failures)
        self.failures += 1
        return wait


@dataclass
class Child:
    """One supervised process: its command, the running process, when to start it again."""

    name: str
    argv: list[str]
    backoff: Backoff
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    restart_at: float | None = None
    restarts: int = 0


@dataclass
class Supervisor:
    """Starts the processes, restarts the ones that die, stops them all at the end."""

    commands: Mapping[str, list[str]]
    env: Mapping[str, str]
    cwd: Path
    say: Callable[[str], None] = print
    #: where each process's output goes (a line with the process's name in front)
    output: IO[str] | None = None
    backoff: Callable[[], Backoff] = Backoff
    children: dict[str, Child] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.children = {
            name: Child(name, list(argv), self.backoff()) for name, argv in self.commands.items()
        }

    def start_all(self) -> None:
        for child in self.children.values():
            self._start(child)

    def _start(self, child: Child) -> None:
        child.process = subprocess.Popen(
            child.argv,
            cwd=self.cwd,
            env=dict(self.env),
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped with its children
        )
        child.started_at = time.monotonic()
        child.restart_at = None
        self.say(f"{child.name} started (pid {child.process.pid})")
        threading.Thread(target=self._relay, args=(child.name, child.process), daemon=True).start()

    def _relay(self, name: str, process: subprocess.Popen) -> None:
        out = self.output
        for line in iter(process.stdout.readline, ""):  # type: ignore[union-attr]
            if out is not None:
                out.write(f"{name:>8} | {line}")
                out.flush()

    def check(self) -> None:
        """Notice processes that exited; start again those whose wait is over."""
        now = time.monotonic()
        for child in self.children.values():
            process = child.process
            if child.restart_at is None and process is not None and process.poll() is not None:
                wait = child.backoff.delay(now - child.started_at)
                child.restart_at = now + wait
                self.say(
                    f"{child.name} exited with code {process.returncode}; "
                    f"starting it again in {wait:g} s (the others keep running)"
                )
            elif child.restart_at is not None and now >= child.restart_at:
                child.restarts += 1
                self._start(child)

    def run(self, stopping: threading.Event, every: float = 0.5) -> None:
        """Supervise until `stopping` is set, then stop everything."""
        while not stopping.is_set():
            self.check()
            stopping.wait(every)
        self.stop_all()

    def stop_all(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """SIGTERM to every process group, SIGKILL to those still running after `grace`."""
        running = [c.process for c in self.children.values() if c.process is not None]
        for process in running:
            if process.poll() is None:
                _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait()


def _signal_group(process: subprocess.Popen, number: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # the group is gone already
        os.killpg(process.pid, number)
