"""The launcher's supervisor (bot/ops/supervisor.py): a dead process is started again, with backoff.

Real child processes (small Python sleepers) are killed with SIGKILL, as a
crash or the kernel's out-of-memory killer would.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

from bot.infra.settings import ROOT
from bot.ops.supervisor import Backoff, Supervisor

SLEEPER = [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(600)"]


def test_backoff_doubles_up_to_its_cap_and_starts_again_after_a_stable_run() -> None:
    backoff = Backoff(first=1, cap=30, stable_after=60)
    assert [backoff.delay(ran_for=2) for _ in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    assert backoff.delay(ran_for=600) == 1  # it had stayed up: a fresh start
    assert backoff.delay(ran_for=1) == 2


def _until(condition, seconds: float = 10) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_killed_process_is_started_again_and_the_others_keep_running() -> None:
    lines: list[str] = []
    supervisor = Supervisor(
        {"one": SLEEPER, "two": SLEEPER},
        os.environ,
        ROOT,
        say=lines.append,
        backoff=lambda: Backoff(first=0.3, cap=1.0, stable_after=60),
    )
    supervisor.start_all()
    try:
        one, two = supervisor.children["one"], supervisor.children["two"]
        first_pid, other_pid = one.process.pid, two.process.pid
        for attempt in range(3):  # it keeps dying: each wait is longer
            dying = one.process
            os.kill(dying.pid, signal.SIGKILL)
            dying.wait()
            supervisor.check()
            assert one.restart_at is not None
            assert lines[-1].startswith("one exited with code -9; starting it again in")
            _until(lambda: (supervisor.check(), one.restart_at is None)[1])
            assert one.process.poll() is None and one.restarts == attempt + 1
        waits = [float(line.split(" in ")[1].split()[0]) for line in lines if "exited" in line]
        assert waits == [0.3, 0.6, 1.0]
        assert one.process.pid != first_pid
        assert two.process.pid == other_pid and two.process.poll() is None and two.restarts == 0
    finally:
        supervisor.stop_all(grace=5)
    assert all(child.process.poll() is not None for child in supervisor.children.values())


def test_stopping_ends_every_process_and_restarts_none() -> None:
    supervisor = Supervisor({"one": SLEEPER}, os.environ, ROOT, say=lambda _line: None)
    supervisor.start_all()
    stopping = threading.Event()
    runner = threading.Thread(target=supervisor.run, args=(stopping, 0.05))
    runner.start()
    stopping.set()
    runner.join(timeout=20)
    assert not runner.is_alive()
    child = supervisor.children["one"]
    assert child.process.poll() is not None and child.restarts == 0
