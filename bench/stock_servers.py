"""Rasa run the stock way, none of our patches: plain `rasa run`, and `rasa run actions`.

What a project made by `rasa init` runs: the REST channel only, Rasa's
default in-memory tracker store and lock store, its template responses,
and (for a bot with custom actions) rasa-sdk's own action server.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bot.infra.settings import ROOT
from bot.ops.launcher import child_environment
from tests.harness.servers import Servers, free_port, stop_all, wait_until_ready

BIN = Path(sys.executable).parent
HOST = "127.0.0.1"


@dataclass
class StockServers:
    """`rasa run` with `model` from `cwd`, and the action server when `actions_package` is given."""

    model: Path
    log_dir: Path
    env: dict[str, str]
    cwd: Path
    actions_package: str | None = None
    rasa_port: int = field(default_factory=free_port)
    action_port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def webhook(self) -> str:
        return f"http://{HOST}:{self.rasa_port}/webhooks/rest/webhook"

    def commands(self) -> dict[str, list[str]]:
        """The processes by name: `rasa`, and `actions` when there is an action server."""
        credentials = self.log_dir / "stock-credentials.yml"
        credentials.write_text("rest:\n", "utf-8")
        rasa = [str(BIN / "rasa"), "run", "--model", str(self.model), "--enable-api"]
        # only this machine reaches the API (no token): the interface is no patch
        rasa += ["--interface", HOST, "--port", str(self.rasa_port)]
        rasa += ["--credentials", str(credentials)]
        if self.actions_package is None:  # the project's own endpoints.yml (in `cwd`)
            return {"rasa": rasa}
        endpoints = self.log_dir / "stock-endpoints.yml"
        endpoints.write_text(
            f"action_endpoint:\n  url: http://{HOST}:{self.action_port}/webhook\n", "utf-8"
        )
        actions = [str(BIN / "rasa"), "run", "actions", "--actions", self.actions_package]
        actions += ["--port", str(self.action_port)]
        return {"rasa": [*rasa, "--endpoints", str(endpoints)], "actions": actions}

    def health_urls(self) -> dict[str, str]:
        urls = {"rasa": f"http://{HOST}:{self.rasa_port}/status"}
        if self.actions_package is not None:
            urls["actions"] = f"http://{HOST}:{self.action_port}/health"
        return urls

    def start(self) -> None:
        for name, argv in self.commands().items():
            log = open(self.log_dir / f"stock-{name}.log", "w")  # noqa: SIM115 - the child's
            self.processes[name] = subprocess.Popen(
                argv, cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        for name, url in self.health_urls().items():
            wait_until_ready(url, self.processes, self.log_dir, name == "rasa", timeout=300)

    def stop(self) -> None:
        stop_all(self.processes)


def our_bot_environment(database_url: str, log_dir: Path) -> dict[str, str]:
    """The environment tests.harness.servers gives its children: our settings, for our actions."""
    return child_environment(Servers(database_url=database_url, log_dir=log_dir).settings)


def for_our_bot(model: Path, database_url: str, log_dir: Path) -> StockServers:
    """Our bot's data and domain trained stock, served stock, with our actions in rasa-sdk."""
    settings = Servers(database_url=database_url, log_dir=log_dir, model=model).settings
    return StockServers(
        model=model,
        log_dir=log_dir,
        env=child_environment(settings),
        cwd=ROOT,
        actions_package="actions",
        rasa_port=settings.rasa_port,
        action_port=settings.action_port,
    )
