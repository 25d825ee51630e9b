"""Start the Rasa server, the action server and the web app together.

`python -m bot.launcher` (what `make run` calls after `make setup`) runs the
three processes in the foreground with prefixed logs; Ctrl-C or SIGTERM stops
all of them, and if one dies the others are stopped too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from bot.rasa_env import rasa_environment
from bot.settings import ROOT, Settings, load_settings, settings_environment

BIN = Path(sys.executable).parent


def latest_model() -> Path:
    models = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise SystemExit("no trained model in models/: run `make setup` first")
    return models[-1]


def commands(settings: Settings, model: Path) -> dict[str, list[str]]:
    return {
        "rasa": [
            str(BIN / "python"),
            "-m",
            "connectors.server",
            "run",
            "--model",
            str(model),
            "--endpoints",
            str(ROOT / "endpoints.yml"),
            "--credentials",
            str(ROOT / "credentials.yml"),
            "--interface",
            settings.rasa_host,
            "--port",
            str(settings.rasa_port),
            "--enable-api",
            "--auth-token",
            settings.rasa_auth_token,
        ],
        "actions": [
            str(BIN / "rasa"),
            "run",
            "actions",
            "--actions",
            "actions",
            "--port",
            str(settings.action_port),
        ],
        "web": [
            str(BIN / "uvicorn"),
            "bot.web.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(settings.app_port),
            # the widget's frames are small; refuse huge ones before parsing
            "--ws-max-size",
            "65536",
        ],
    }


def _relay(name: str, stream) -> None:  # type: ignore[no-untyped-def]
    for line in iter(stream.readline, ""):
        sys.stdout.write(f"{name:>8} | {line}")
        sys.stdout.flush()


def child_environment(settings: Settings) -> dict[str, str]:
    """Environment for the three processes: our settings plus Rasa's endpoints."""
    return {
        **os.environ,
        **settings_environment(settings),
        **rasa_environment(settings),
        "PYTHONPATH": str(ROOT),
        "RASA_TELEMETRY_ENABLED": "false",
    }


def main() -> int:
    settings = load_settings()
    settings.check()
    if not settings.is_production:
        print("*** development mode: demo data, SQLite, development API token ***")
    env = child_environment(settings)
    processes: dict[str, subprocess.Popen] = {}
    for name, argv in commands(settings, latest_model()).items():
        proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        processes[name] = proc
        threading.Thread(target=_relay, args=(name, proc.stdout), daemon=True).start()

    stopping = threading.Event()

    def stop(*_args: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    print(
        f"REST webhook http://127.0.0.1:{settings.rasa_port}/webhooks/rest/webhook · "
        f"actions :{settings.action_port} · app http://127.0.0.1:{settings.app_port}/health"
    )
    exit_code = 0
    while not stopping.is_set():
        for name, proc in processes.items():
            if proc.poll() is not None:
                print(f"{name} exited with code {proc.returncode}; stopping the others")
                exit_code = proc.returncode or 1
                stopping.set()
        time.sleep(0.5)
    for proc in processes.values():
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.time() + 15
    for proc in processes.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
