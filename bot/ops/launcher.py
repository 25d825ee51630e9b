"""Start the processes of the configured topology.

`python -m bot.ops.launcher` (what `make run` and `make run-prod` call) runs them
all in the foreground with prefixed logs: Rasa (one instance, or several),
the action server and the web app, and with EDGE=nginx the edge proxy in
front of them (bot/ops/edge.py). One that dies is
started again with backoff while the others keep running (bot/ops/supervisor.py);
Ctrl-C or SIGTERM stops all of them.

`python -m bot.ops.launcher --process NAME` runs just one of them in place of
the launcher (one process per container or systemd unit), with the same
command and environment; `--list` prints the names.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

from bot.infra.logs import CONFIG_FILE as LOG_CONFIG
from bot.infra.settings import ROOT, Settings, get_settings
from bot.ops.edge import server_name
from bot.ops.rasa_env import write_endpoints
from bot.ops.supervisor import Supervisor

BIN = Path(sys.executable).parent


def newest_model(models: Path = ROOT / "models") -> Path | None:
    """The model the launcher starts: the newest models/*.tar.gz (`make setup`
    checks the same one: scripts/train_if_needed.py)."""
    found = sorted(models.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


def latest_model() -> Path:
    model = newest_model()
    if model is None:
        raise SystemExit("no trained model in models/: run `make setup` first")
    return model


def _rasa(settings: Settings, model: Path, port: int) -> list[str]:
    return [
        str(BIN / "python"),
        "-m",
        "bot.rasa_runtime",
        "run",
        "--model",
        str(model),
        # endpoints.yml's sections with this environment's action server, tracker
        # and lock store, in a private file (bot/ops/rasa_env.py)
        "--endpoints",
        str(write_endpoints(settings)),
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


def _rasa_logging(settings: Settings, flag: str = "--logging-config-file") -> list[str]:
    """JSON log lines (LOG_FORMAT=json); rasa-sdk spells the flag `--logging-config_file`."""
    return [flag, str(LOG_CONFIG)] if settings.log_format == "json" else []


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
    # nginx in front of everything: TLS, WebSockets, failover between the instances
    edge = {"edge": [str(BIN / "python"), "-m", "bot.ops.edge", "run"]}
    # rasa-sdk's server, refusing calls without the shared secret; not started
    # when Rasa runs the actions itself (ACTIONS=in-process)
    actions = {
        "actions": [
            str(BIN / "python"),
            "-m",
            "bot.rasa_runtime.action_server",
            "--actions",
            "actions",
            "--port",
            str(settings.action_port),
            *_rasa_logging(settings, "--logging-config_file"),
        ]
    }
    return {
        **rasa,
        **(edge if settings.edge == "nginx" else {}),
        **({} if settings.actions_in_process else actions),
        # the widget's frames are small; refuse huge ones before parsing
        "web": _uvicorn(
            settings, "bot.web.app:create_app", settings.app_port, "--ws-max-size", "65536"
        ),
    }


def health_urls(settings: Settings) -> dict[str, str]:
    """Where each process of `commands()` says it is ready."""
    ports = settings.rasa_instance_ports
    token = settings.rasa_auth_token
    urls = {"web": f"http://127.0.0.1:{settings.app_port}/ready"}
    if not settings.actions_in_process:
        urls["actions"] = f"http://127.0.0.1:{settings.action_port}/health"
    if len(ports) == 1:
        urls["rasa"] = f"http://127.0.0.1:{ports[0]}/status?token={token}"
    else:
        for number, port in enumerate(ports, 1):
            urls[f"rasa-{number}"] = f"http://127.0.0.1:{port}/status?token={token}"
    if settings.edge == "nginx":
        urls["edge"] = f"http://127.0.0.1:{settings.rasa_port}/_edge/health"
    return urls


SERVER_KEEP_ALIVE_SECONDS = 75


def child_environment(settings: Settings) -> dict[str, str]:
    """Environment for the processes: our settings and what Rasa and Sanic read."""
    return {
        **os.environ,
        **settings.environment(),
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
    if settings.rasa_instances > 1 and settings.edge == "none":
        print("several Rasa instances need the edge in front of them: set EDGE=nginx")
        return 2
    if not settings.is_production:
        print("*** development mode: demo data, SQLite, development API token ***")
    supervisor = Supervisor(
        commands(settings, latest_model()),
        child_environment(settings),
        ROOT,
        say=_say,
        output=sys.stdout,
    )
    supervisor.start_all()
    stopping = threading.Event()

    def stop(*_args: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    print(entry_points(settings))
    supervisor.run(stopping)
    return 0


def entry_points(settings: Settings) -> str:
    """Where people and programs reach the service, for the launcher's first lines."""
    if settings.edge == "nginx":
        public = f"https://{server_name(settings)}:{settings.edge_https_port}"
        return (
            f"web chat and console {public}/ · REST webhook {public}/webhooks/rest/webhook · "
            f"phone {public}/webhooks/voice/webhook (edge: nginx, TLS)"
        )
    actions = "in Rasa" if settings.actions_in_process else f":{settings.action_port}"
    return (
        f"REST webhook http://127.0.0.1:{settings.rasa_port}/webhooks/rest/webhook · "
        f"actions {actions} · app http://127.0.0.1:{settings.app_port}/health"
    )


def _say(line: str) -> None:
    """The launcher's own lines, among the processes' output."""
    print(f"{'launcher':>8} | {line}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
