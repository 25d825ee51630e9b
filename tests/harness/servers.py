"""Start the real Rasa server and action server on free ports (tests, benchmarks).

The same commands and environment as `make run` (bot.ops.launcher), on free ports,
with a database and tracker store of the test's own.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from bot.domain.services import appointments, customer_data, tariffs
from bot.infra.db import session_scope
from bot.infra.migrate import upgrade
from bot.infra.settings import ROOT, Settings, load_settings
from bot.ops.launcher import child_environment, commands, health_urls

MODEL = ROOT / "models" / "stadtwerk.tar.gz"
DEMO_CUSTOMERS = ROOT / "data" / "demo" / "customers.json"
DEMO_TARIFFS = ROOT / "data" / "demo" / "tariffs.json"
DEMO_SLOT_DAYS = 21
TIMEZONE = "Europe/Berlin"
TOKEN = "e2e-test-token"
METRICS_TOKEN = "e2e-metrics-token"
PSEUDONYM_KEY = "e2e-pseudonym-key-0123456789abcdef"


def demo_database(path: Path, *, slots: bool = False) -> str:
    """A migrated SQLite database with the demo customers and tariffs at `path`; its URL.

    `slots`: also the demo's free appointment slots from today on (what
    `make run` plans), for conversations that book.
    """
    url = f"sqlite:///{path}"
    upgrade(url)
    with session_scope(url) as session:
        customer_data.import_customers(session, json.loads(DEMO_CUSTOMERS.read_text("utf-8")))
        sheet = json.loads(DEMO_TARIFFS.read_text("utf-8"))["tariffs"]
        tariffs.import_tariffs(session, tariffs.parse_tariffs(sheet))
        if slots:
            planned = appointments.demo_slots(dt.date.today(), DEMO_SLOT_DAYS, ZoneInfo(TIMEZONE))
            appointments.import_slots(session, planned)
    return url


def readable_folder(prefix: str) -> str:
    """A new folder others may enter (pytest's own folders are private)."""
    folder = tempfile.mkdtemp(prefix=prefix)
    Path(folder).chmod(0o755)
    return folder


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_port_block(count: int) -> int:
    """The first of `count` consecutive free ports."""
    for _ in range(50):
        first = free_port()
        if first + count > 65535:
            continue
        try:
            for port in range(first, first + count):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return first
    raise RuntimeError(f"no {count} consecutive free ports")


@dataclass
class Servers:
    """Rasa (one instance, or several behind the edge proxy), the action server
    unless Rasa runs the actions itself, optionally the web app, as child processes."""

    database_url: str
    log_dir: Path
    tracker_store_url: str = ""  # default: a SQLite file in log_dir
    redis_url: str = ""
    rasa_instances: int = 1
    model: Path = MODEL
    # where Rasa runs the custom actions (ACTIONS): "in-process" or "server";
    # empty: as `make run` does (in process)
    actions: str = ""
    # nginx in front (bot/ops/edge.py), as `make run-prod` runs it; always with
    # several instances
    edge: bool = False
    settings: Settings = field(init=False)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.edge = self.edge or self.rasa_instances > 1
        rasa_port = free_port()
        if self.edge:  # the instances listen on the ports after the edge's internal server
            rasa_port = free_port_block(self.rasa_instances + 1)
        edge_https = free_port()
        self.settings = load_settings().replace(
            app_env="development",
            database_url=self.database_url,
            tracker_store_url=self.tracker_store_url or f"sqlite:///{self.log_dir / 'tracker.db'}",
            redis_url=self.redis_url,
            rasa_port=rasa_port,
            rasa_instances=self.rasa_instances,
            actions=self.actions,
            action_port=free_port(),
            app_port=free_port(),
            rasa_auth_token=TOKEN,
            pseudonym_key=PSEUDONYM_KEY,
            twilio_auth_token="",
            # Twilio signs over the public URL: the edge's, when there is one
            public_base_url=f"https://localhost:{edge_https}" if self.edge else "",
            voice_queue="stadtwerk-agents",
            # people always answer, so handoffs are transferred in every test run
            hotline_hours="Mo-So 00:00-24:00",
            # all tests talk from this machine: limits that whole suites stay under
            # (tests/security floods addresses of its own up to them)
            rest_messages_per_minute=1000,
            voice_requests_per_minute=2000,
            handoff_cases_per_source_per_hour=20,
            metrics_token=METRICS_TOKEN,
            edge="nginx" if self.edge else "none",
            edge_https_port=edge_https,
            edge_http_port=free_port(),
            # nginx's workers (`nobody` under root) must reach its temporary files
            edge_dir=readable_folder("edge-"),
        )

    @property
    def webhook(self) -> str:
        return f"{self.settings.rasa_base_url}/webhooks/rest/webhook"

    @property
    def api(self) -> str:
        return self.settings.rasa_base_url

    @property
    def app_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.app_port}"

    @property
    def public_url(self) -> str:
        """The edge's HTTPS address (with `edge`), as customers and Twilio reach it."""
        return f"https://localhost:{self.settings.edge_https_port}"

    def instance_webhook(self, number: int) -> str:
        """The REST webhook of one Rasa instance (1, 2, ...), bypassing the edge."""
        port = self.settings.rasa_instance_ports[number - 1]
        return f"http://127.0.0.1:{port}/webhooks/rest/webhook"

    def start(self) -> None:
        """Everything but the web app (the servers most tests need)."""
        for name in commands(self.settings, self.model):
            if name != "web":
                self.start_one(name, wait=False)
        for name in list(self.processes):
            self._wait_ready(name)

    def start_web(self) -> None:
        """The web app (chat gateway, agent console) too; after `start()`."""
        self.start_one("web")

    def start_another_web(self, name: str = "web-2", ready: str = "/ready", **changes: Any) -> str:
        """Another web app process on its own port: same databases, Redis and Rasa,
        unless `changes` to its settings say otherwise; its URL once `ready` answers."""
        other = self.settings.replace(app_port=free_port(), **changes)
        self._spawn(name, commands(other, self.model)["web"], child_environment(other))
        url = f"http://127.0.0.1:{other.app_port}"
        self._wait(f"{url}{ready}")
        return url

    def start_one(self, name: str, wait: bool = True) -> None:
        argv = commands(self.settings, self.model)[name]
        self._spawn(name, argv, child_environment(self.settings))
        if wait:
            self._wait_ready(name)

    def kill(self, name: str) -> None:
        """Stop one server at once (SIGKILL: no clean shutdown), as a crash would."""
        proc = self.processes.pop(name)
        proc.kill()
        proc.wait(timeout=30)

    def restart(self, name: str) -> None:
        """Stop one server and start it again (same ports, same data)."""
        proc = self.processes.pop(name)
        proc.terminate()
        proc.wait(timeout=30)
        self.start_one(name)

    def _wait_ready(self, name: str) -> None:
        self._wait(health_urls(self.settings)[name], need_model=name.startswith("rasa"))

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        # appending: nginx (the edge) writes its access log through a descriptor of its own
        log = open(self.log_dir / f"{name}.log", "a")  # noqa: SIM115 - closed by the process
        self.processes[name] = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )

    def _wait(self, url: str, need_model: bool = False, timeout: float = 240) -> None:
        wait_until_ready(url, self.processes, self.log_dir, need_model, timeout)

    def stop(self) -> None:
        stop_all(self.processes)


def wait_until_ready(
    url: str,
    processes: dict[str, subprocess.Popen],
    log_dir: Path,
    need_model: bool = False,
    timeout: float = 240,
) -> None:
    """Until `url` answers 200 (with a loaded model if `need_model`); fails if one of
    `processes` exits meanwhile or `timeout` seconds pass."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if any(proc.poll() is not None for proc in processes.values()):
            raise RuntimeError(f"a server exited early; see logs in {log_dir}")
        try:
            reply = httpx.get(url, timeout=2)
            if reply.status_code == 200 and (not need_model or reply.json().get("model_file")):
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise TimeoutError(f"{url} not ready; see logs in {log_dir}")


def stop_all(processes: dict[str, subprocess.Popen]) -> None:
    """Terminate every process; kill those still running after 20 s."""
    for proc in processes.values():
        proc.terminate()
    for proc in processes.values():
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
