"""Start the processes of the configured topology.

`python -m bot.ops.launcher` (what `make run` and `make run-prod` call) runs them
all in the foreground with prefixed logs: Rasa (one instance, or several
behind the balancer), the action server and the web app. Ctrl-C or SIGTERM
stops all of them, and if one dies the others are stopped too.

`python -m bot.ops.launcher --process NAME` runs just one of them in place of
the launcher (one process per container or systemd unit), with the same
command and environment; `--list` prints the names.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from bot.infra.logs import CONFIG_FILE as LOG_CONFIG
from bot.infra.settings import ROOT, Settings, get_settings
from bot.ops.rasa_env import rasa_environment

BIN = Path(sys.executable).parent


def latest_model() -> Path:
    models = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise SystemExit("no trained model in models/: run `make setup` first")
    return models[-1]


def _rasa(settings: Settings, model: Path, port: int) -> list[str]:
    return [
        str(BIN / "python"),
        "-m",
        "bot.rasa_runtime.server",
        "run",
        "--model",
        str(model),
        "--endpoints",
        str(ROOT / "endpoints.yml"),
        "--credentials",
        str(ROOT / "credentials.yml"),
        "--interface",
        settings.bind_host,
        "--port",
        str(port),
        # the API's token comes from RASA_AUTH_TOKEN, not from this command line (`ps`)
        "--enable-api",
        *_rasa_logging(settings),
    ]


def _rasa_logging(settings: Settings) -> list[str]:
    return ["--logging-config-file", str(LOG_CONFIG)] if settings.log_format == "json" else []


def _uvicorn(settings: Settings, app: str, port: int, *extra: str) -> list[str]:
    logging = ["--log-config", str(LOG_CONFIG)] if settings.log_format == "json" else []
    host = ["--host", settings.bind_host, "--port", str(port)]
    return [str(BIN / "uvicorn"), app, "--factory", *host, *logging, *extra]


def commands(settings: Settings, model: Path) -> dict[str, list[str]]:
    """Every process of the configured topology, by name."""
    ports = settings.rasa_instance_ports
    if len(ports) == 1:
        rasa = {"rasa": _rasa(settings, model, ports[0])}
    else:
        rasa = {f"rasa-{n}": _rasa(settings, model, port) for n, port in enumerate(ports, 1)}
        # no access log: API calls carry the Rasa token in their query string
        rasa["balancer"] = _uvicorn(
            settings, "bot.ops.balancer:create_app", settings.rasa_port, "--no-access-log"
        )
    return {
        **rasa,
        # rasa-sdk's server, refusing calls without the shared secret
        "actions": [
            str(BIN / "python"),
            "-m",
            "bot.rasa_runtime.action_server",
            "--actions",
            "actions",
            "--port",
            str(settings.action_port),
            *_rasa_logging(settings),
        ],
        # the widget's frames are small; refuse huge ones before parsing
        "web": _uvicorn(
            settings, "bot.web.app:create_app", settings.app_port, "--ws-max-size", "65536"
        ),
    }


def health_urls(settings: Settings) -> dict[str, str]:
    """Where each process of `commands()` says it is ready."""
    ports = settings.rasa_instance_ports
    token = settings.rasa_auth_token
    urls = {
        "actions": f"http://127.0.0.1:{settings.action_port}/health",
        "web": f"http://127.0.0.1:{settings.app_port}/ready",
    }
    if len(ports) == 1:
        urls["rasa"] = f"http://127.0.0.1:{ports[0]}/status?token={token}"
    else:
        for number, port in enumerate(ports, 1):
            urls[f"rasa-{number}"] = f"http://127.0.0.1:{port}/status?token={token}"
        urls["balancer"] = f"http://127.0.0.1:{settings.rasa_port}/_balancer/health"
    return urls


def _relay(name: str, stream) -> None:  # type: ignore[no-untyped-def]
    for line in iter(stream.readline, ""):
        sys.stdout.write(f"{name:>8} | {line}")
        sys.stdout.flush()


SERVER_KEEP_ALIVE_SECONDS = 75


def child_environment(settings: Settings) -> dict[str, str]:
    """Environment for the three processes: our settings plus Rasa's endpoints."""
    return {
        **os.environ,
        **settings.environment(),
        **rasa_environment(settings),
        "PYTHONPATH": str(ROOT),
        "RASA_TELEMETRY_ENABLED": "false",
        # the action server (rasa-sdk's Sanic) listens where the others do
        "SANIC_HOST": settings.bind_host,
        # Sanic's servers (Rasa, actions) keep idle connections well beyond the
        # time their clients do (bot/rasa_runtime/action_connections.py, httpx), so
        # a server that stalls for a few seconds never drops a request that
        # arrived on a kept connection in the meantime (Sanic's default is 5 s).
        "SANIC_KEEP_ALIVE_TIMEOUT": str(SERVER_KEEP_ALIVE_SECONDS),
    }


def run_one(settings: Settings, name: str) -> int:
    """Replace this process with one process of the topology."""
    argv = commands(settings, latest_model()).get(name)
    if argv is None:
        print(f"no process {name!r}; choose from {', '.join(commands(settings, Path()))}")
        return 2
    os.chdir(ROOT)
    os.execve(argv[0], argv, child_environment(settings))
    return 0  # not reached


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.ops.launcher", description=__doc__)
    parser.add_argument("--process", help="run only this process (see --list)")
    parser.add_argument("--list", action="store_true", help="print the process names")
    args = parser.parse_args(argv)
    settings = get_settings()
    if args.list:
        print("\n".join(commands(settings, Path())))
        return 0
    if args.process:
        return run_one(settings, args.process)
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
