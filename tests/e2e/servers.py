"""Start the real Rasa server and action server for end-to-end tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bot.rasa_env import rasa_environment
from bot.settings import ROOT, load_settings

RASA = str(Path(sys.executable).parent / "rasa")
MODEL = ROOT / "models" / "stadtwerk.tar.gz"
TOKEN = "e2e-test-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Servers:
    rasa_port: int
    action_port: int
    database_url: str
    log_dir: Path
    processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def webhook(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}/webhooks/rest/webhook"

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "TRACKER_STORE_URL": f"sqlite:///{self.log_dir / 'tracker.db'}",
            "RASA_PORT": str(self.rasa_port),
            "ACTION_PORT": str(self.action_port),
            "RASA_AUTH_TOKEN": TOKEN,
            "PYTHONPATH": str(ROOT),
            "RASA_TELEMETRY_ENABLED": "false",
        }
        os.environ.update({k: env[k] for k in ("TRACKER_STORE_URL",)})
        settings = load_settings()
        env.update(rasa_environment(settings.__class__(
            tracker_store_url=env["TRACKER_STORE_URL"],
            action_port=self.action_port,
        )))
        return env

    def start(self) -> None:
        env = self.env()
        self._spawn("actions", [RASA, "run", "actions", "--actions", "actions",
                                "--port", str(self.action_port)], env)
        self._spawn("rasa", [RASA, "run", "--model", str(MODEL),
                             "--endpoints", str(ROOT / "endpoints.yml"),
                             "--credentials", str(ROOT / "credentials.yml"),
                             "--port", str(self.rasa_port), "--enable-api",
                             "--auth-token", TOKEN], env)
        self._wait(f"http://127.0.0.1:{self.action_port}/health")
        self._wait(f"{self.api}/status?token={TOKEN}", need_model=True)

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        log = open(self.log_dir / f"{name}.log", "w")  # noqa: SIM115 - closed on stop
        self.processes.append(
            subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        )

    def _wait(self, url: str, need_model: bool = False, timeout: float = 240) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            for proc in self.processes:
                if proc.poll() is not None:
                    raise RuntimeError(f"a server exited early; see logs in {self.log_dir}")
            try:
                response = httpx.get(url, timeout=2)
                if response.status_code == 200 and (
                    not need_model or response.json().get("model_file")
                ):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(1)
        raise TimeoutError(f"{url} not ready; see logs in {self.log_dir}")

    def stop(self) -> None:
        for proc in self.processes:
            proc.terminate()
        for proc in self.processes:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
