"""Agent logins hold against parallel guessing, lock-outs and bursts (issue 12, finding 7).

Before: the throttle checked, then verified, then counted, so parallel guesses
all got past it; it counted per peer address, which behind the edge proxy is
the proxy's for everyone, so a stranger's guesses locked the agent out; argon2
(64 MiB a check) ran on the shared thread pool, as many at once as requests came.

Most tests serve the web app from this process (`app_here`, the app of
`create_app` over HTTP) so that its argon2 checks can be counted, behind an
edge proxy at 127.0.0.2: TRUSTED_PROXIES names it, uvicorn by itself trusts
only 127.0.0.1 (as in a container). So the app sees what it sees in
production: the proxy's address, and the client in X-Forwarded-For.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
from argon2 import PasswordHasher

from bot.domain.services import agents
from bot.infra.db import session_scope
from bot.infra.settings import Settings, get_settings
from bot.web.app import create_app
from tests.harness.servers import Servers, free_port
from tests.harness.web_clients import Console
from tests.security.conftest import new_address

PASSWORD = "the-agents-own-password"
EDGE_PROXY = "127.0.0.2"


class PasswordCheckCounter:
    """Counts argon2 checks, and the most running at one moment (each a real check)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.peak = 0
        self.total = 0
        self.real = PasswordHasher.verify

    def verify(self, hasher: PasswordHasher, password_hash: str, password: str) -> bool:
        """Stands in for `PasswordHasher.verify`: counts, then runs the real check."""
        with self.lock:
            self.running += 1
            self.total += 1
            self.peak = max(self.peak, self.running)
        try:
            return self.real(hasher, password_hash, password)
        finally:
            with self.lock:
                self.running -= 1


@dataclass
class AppHere:
    url: str
    database_url: str
    settings: Settings
    checks: PasswordCheckCounter

    def new_agent(self, username: str) -> str:
        with session_scope(self.database_url) as session:
            agents.create_agent(
                session, username=username, first_name="Test", last_name="Agent", password=PASSWORD
            )
        return username

    def browser(self, address: str) -> Console:
        """A browser at `address`, reaching the app through the edge proxy."""
        console = Console(self.url)
        console.http = proxied(self.url, address)
        return console


def proxied(app_url: str, address: str, proxy: str = EDGE_PROXY) -> httpx.Client:
    """Requests as the edge proxy at `proxy` forwards them for a client at `address`."""
    return httpx.Client(
        base_url=app_url,
        timeout=60,
        headers={"X-Forwarded-For": address},
        transport=httpx.HTTPTransport(local_address=proxy),
    )


@pytest.fixture
def app_here(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppHere]:
    """The web app served from this process on a demo database of its own (logins
    need no Rasa), its argon2 checks counted."""
    for name, value in {
        "APP_ENV": "development",
        "REDIS_URL": "",
        "RASA_URL": f"http://127.0.0.1:{free_port()}",
        "TRUSTED_PROXIES": f"127.0.0.1,::1,{EDGE_PROXY}",
    }.items():
        monkeypatch.setenv(name, value)
    checks = PasswordCheckCounter()
    monkeypatch.setattr(
        PasswordHasher, "verify", lambda hasher, *args: checks.verify(hasher, *args)
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started:
        assert time.time() < deadline and thread.is_alive(), "the web app did not start"
        time.sleep(0.05)
    yield AppHere(f"http://127.0.0.1:{port}", database_url, get_settings(), checks)
    server.should_exit = True
    thread.join(timeout=30)


class LoginForm:
    """The login page as a browser holds it: its CSRF cookie and token, ready to send."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        page = self.http.get("/agent/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token, page.text
        self.token = token[1]

    def send(self, username: str, password: str) -> httpx.Response:
        return self.http.post(
            "/agent/login",
            data={"username": username, "password": password, "csrf_token": self.token},
        )


def all_at_once(forms: list[LoginForm], logins: list[tuple[str, str]]) -> list[httpx.Response]:
    """Send every form at the same moment, each from its own thread."""
    start = threading.Barrier(len(forms))

    def send(number: int) -> httpx.Response:
        start.wait()
        return forms[number].send(*logins[number])

    with ThreadPoolExecutor(max_workers=len(forms)) as pool:
        return list(pool.map(send, range(len(forms))))


# --- the throttle counts before it checks -----------------------------------------------


def test_parallel_wrong_logins_check_no_more_passwords_than_the_limit(web: Servers) -> None:
    """Against the app as the launcher runs it (uvicorn believes the local proxy)."""
    with session_scope(web.database_url) as session:
        agents.create_agent(
            session, username="parallel", first_name="P", last_name="A", password=PASSWORD
        )
    address = new_address()
    forms = [
        LoginForm(httpx.Client(base_url=web.app_url, headers={"X-Forwarded-For": address}))
        for _ in range(50)
    ]
    answers = all_at_once(forms, [("parallel", f"guess-{n}") for n in range(50)])
    statuses = sorted(answer.status_code for answer in answers)
    limit = web.settings.login_attempts_per_client
    assert statuses == [401] * limit + [429] * (50 - limit)
    # Locked means locked: the right password from there does not get in now either.
    again = LoginForm(httpx.Client(base_url=web.app_url, headers={"X-Forwarded-For": address}))
    assert again.send("parallel", PASSWORD).status_code == 429


def test_parallel_wrong_logins_behind_the_edge_proxy(app_here: AppHere) -> None:
    username = app_here.new_agent("parallel-proxied")
    address = new_address()
    forms = [LoginForm(proxied(app_here.url, address)) for _ in range(30)]
    answers = all_at_once(forms, [(username, f"guess-{n}") for n in range(30)])
    limit = app_here.settings.login_attempts_per_client
    assert sorted(a.status_code for a in answers) == [401] * limit + [429] * (30 - limit)
    assert app_here.checks.total == limit


# --- whose failures count -------------------------------------------------------------


def test_failed_logins_count_per_client_behind_the_proxy(app_here: AppHere) -> None:
    username = app_here.new_agent("behind-the-proxy")
    guesser = new_address()
    limit = app_here.settings.login_attempts_per_client
    statuses = [
        app_here.browser(guesser).login(username, f"guess-{n}").status_code
        for n in range(limit + 1)
    ]
    assert statuses == [401] * limit + [429]
    # The proxy forwards another client: it is not the guesser.
    assert app_here.browser(new_address()).login(username, PASSWORD).status_code == 303


def test_a_stranger_cannot_lock_the_agent_out_of_their_own_browser(app_here: AppHere) -> None:
    username = app_here.new_agent("targeted-agent")
    office = new_address()
    own = app_here.browser(office)
    assert own.login(username, PASSWORD).status_code == 303  # leaves the device cookie
    assert own.http.post("/agent/logout", data={"csrf_token": own.csrf}).status_code == 303

    # A stranger behind the same office address guesses until locked...
    per_client = app_here.settings.login_attempts_per_client
    stranger = [
        app_here.browser(office).login(username, f"guess-{n}").status_code
        for n in range(per_client + 1)
    ]
    assert stranger == [401] * per_client + [429]
    # ...and strangers from many addresses guess until the agent's name is locked
    # for every browser the agent has not logged in with.
    for _ in range(app_here.settings.login_attempts_per_agent - per_client):
        assert app_here.browser(new_address()).login(username, "guess").status_code == 401
    assert app_here.browser(new_address()).login(username, PASSWORD).status_code == 429

    # The agent's own browser, at that very office, still gets in.
    assert own.login(username, PASSWORD).status_code == 303
    assert own.get("/agent/api/me").json()["username"] == username
    # The strangers stay locked, also with a device cookie of their own making.
    forged = app_here.browser(office)
    value = own.http.cookies["stadtwerk_device"]
    forged.http.cookies.set("stadtwerk_device", value[:-4] + "AAAA", path="/agent/login")
    assert forged.login(username, PASSWORD).status_code == 429


# --- a burst of logins ------------------------------------------------------------------


def test_a_burst_of_logins_runs_few_password_checks_and_health_still_answers(
    app_here: AppHere,
) -> None:
    forms = [LoginForm(proxied(app_here.url, new_address())) for _ in range(40)]
    health: list[tuple[int, float]] = []
    burst_over = threading.Event()

    def watch_health() -> None:
        with httpx.Client(base_url=app_here.url, timeout=10) as client:
            while not burst_over.is_set():
                began = time.monotonic()
                status = client.get("/health").status_code
                health.append((status, time.monotonic() - began))
                time.sleep(0.05)

    watcher = threading.Thread(target=watch_health)
    watcher.start()
    try:
        answers = all_at_once(forms, [(f"burst-{n}", f"guess-{n}") for n in range(40)])
    finally:
        burst_over.set()
        watcher.join()

    assert 0 < app_here.checks.peak <= app_here.settings.login_checks
    wrong = [a for a in answers if a.status_code == 401]
    busy = [a for a in answers if a.status_code == 503]
    assert len(wrong) + len(busy) == len(answers)
    assert busy and all("Zu viele Anmeldungen gleichzeitig" in a.text for a in busy)
    assert app_here.checks.total == len(wrong)  # a login turned away checked no password
    assert health and all(status == 200 for status, _ in health)
    assert max(seconds for _, seconds in health) < 2.0
