"""A real `rasa shell` in the repository, as someone types into it after `make setup`.

Rasa's own command (none of our runtime changes) from the repository root,
with endpoints.yml's local defaults and no environment of ours; only the
action server's port and the conversation store differ (a free port, a
temporary file), so the test runs beside `make run` and other tests. The
action server is ours (`python -m bot.rasa_runtime.action_server`): it
answers only calls that carry the secret endpoints.yml sends.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import yaml

from bot.infra.settings import ROOT
from tests.harness.servers import MODEL, demo_database, free_port

BIN = Path(sys.executable).parent
QUESTION = "Was kostet Ökostrom?"
# the demo tariff sheet's green electricity (data/demo/tariffs.json)
ANSWER = "Strom Öko (Ökostrom): 32,90 Cent je kWh"
TIMEOUT_SECONDS = 90


def plain_environment(**extra: str) -> dict[str, str]:
    """Only what any shell has, plus `extra`: none of our settings."""
    keep = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    quiet = {"RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
    return {**keep, **quiet, "PYTHONUNBUFFERED": "1", **extra}


def start(argv: list[str], env: dict[str, str], **options: object) -> subprocess.Popen[str]:
    return subprocess.Popen(argv, cwd=ROOT, env=env, text=True, start_new_session=True, **options)


def stop(process: subprocess.Popen[str]) -> None:
    """The process and its children, terminated (killed after 10 s)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_for(url: str, process: subprocess.Popen[str], deadline: float) -> None:
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer")


def test_rasa_shell_answers_a_tariff_question(tmp_path: Path) -> None:
    assert MODEL.exists(), "no trained model: run `make setup` first"
    port = free_port()
    endpoints = yaml.safe_load((ROOT / "endpoints.yml").read_text(encoding="utf-8"))
    endpoints["action_endpoint"]["url"] = f"http://127.0.0.1:{port}/webhook"
    endpoints["tracker_store"]["url"] = f"sqlite:///{tmp_path / 'tracker.db'}"
    (tmp_path / "endpoints.yml").write_text(yaml.safe_dump(endpoints), encoding="utf-8")
    database = demo_database(tmp_path / "stadtwerk.db")

    deadline = time.monotonic() + TIMEOUT_SECONDS
    actions = start(
        [str(BIN / "python"), "-m", "bot.rasa_runtime.action_server", "--actions", "actions"]
        + ["--port", str(port)],
        plain_environment(DATABASE_URL=database, SANIC_HOST="127.0.0.1"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    shell = start(
        [str(BIN / "rasa"), "shell", "--endpoints", str(tmp_path / "endpoints.yml")]
        + ["--port", str(free_port())],
        plain_environment(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(iter(shell.stdout.readline, "")))
    reader.start()
    try:
        wait_for(f"http://127.0.0.1:{port}/health", actions, deadline)
        shell.stdin.write(f"{QUESTION}\n")
        shell.stdin.flush()
        while time.monotonic() < deadline and shell.poll() is None:
            if any(ANSWER in line for line in output):
                break
            time.sleep(0.5)
    finally:
        stop(shell)
        stop(actions)
        reader.join(timeout=10)
    text = "".join(output)
    assert ANSWER in text, text[-3000:]
    assert "Failed to execute custom action" not in text
