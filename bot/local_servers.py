"""Start the real Rasa server and action server on free ports (tests, benchmarks).

The same commands and environment as `make run` (bot.launcher), on free ports,
with a database and tracker store of the test's own.
"""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx

from bot.launcher import child_environment, commands
from bot.settings import ROOT, Settings, load_settings

MODEL = ROOT / "models" / "stadtwerk.tar.gz"
TOKEN = "e2e-test-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Servers:
    """A Rasa server and an action server running as child processes."""

    database_url: str
    log_dir: Path
    settings: Settings = field(init=False)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.settings = replace(
            load_settings(),
            environment="development",
            database_url=self.database_url,
            tracker_store_url=f"sqlite:///{self.log_dir / 'tracker.db'}",
            redis_url="",
            rasa_port=free_port(),
            action_port=free_port(),
            app_port=free_port(),
            rasa_auth_token=TOKEN,
            twilio_auth_token="",
            public_base_url="",
            voice_queue="stadtwerk-agents",
            # people always answer, so handoffs are transferred in every test run
            hotline_hours="Mo-So 00:00-24:00",
        )

    @property
    def webhook(self) -> str:
        return f"{self.settings.rasa_url}/webhooks/rest/webhook"

    @property
    def api(self) -> str:
        return self.settings.rasa_url

    @property
    def app_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.app_port}"

    def start(self) -> None:
        env = child_environment(self.settings)
        argv = commands(self.settings, MODEL)
        self._spawn("actions", argv["actions"], env)
        self._spawn("rasa", argv["rasa"], env)
        self._wait(f"http://127.0.0.1:{self.settings.action_port}/health")
        self._wait(f"{self.api}/status?token={TOKEN}", need_model=True)

    def start_web(self) -> None:
        """The web app (chat gateway, agent console) too; after `start()`."""
        env = child_environment(self.settings)
        self._spawn("web", commands(self.settings, MODEL)["web"], env)
        self._wait(f"{self.app_url}/health")

    def restart(self, name: str) -> None:
        """Stop one server and start it again (same ports, same data)."""
        proc = self.processes.pop(name)
        proc.terminate()
        proc.wait(timeout=30)
        argv = commands(self.settings, MODEL)[name]
        self._spawn(name, argv, child_environment(self.settings))
        health = {
            "web": f"{self.app_url}/health",
            "actions": f"http://127.0.0.1:{self.settings.action_port}/health",
            "rasa": f"{self.api}/status?token={TOKEN}",
        }[name]
        self._wait(health, need_model=name == "rasa")

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        log = open(self.log_dir / f"{name}.log", "w")  # noqa: SIM115 - closed by the process
        self.processes[name] = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )

    def _wait(self, url: str, need_model: bool = False, timeout: float = 240) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            for proc in self.processes.values():
                if proc.poll() is not None:
                    raise RuntimeError(f"a server exited early; see logs in {self.log_dir}")
            try:
                reply = httpx.get(url, timeout=2)
                if reply.status_code == 200 and (not need_model or reply.json().get("model_file")):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(1)
        raise TimeoutError(f"{url} not ready; see logs in {self.log_dir}")

    def stop(self) -> None:
        for proc in self.processes.values():
            proc.terminate()
        for proc in self.processes.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
