"""Faults that must neither hang, leak nor lose: each test causes the fault for real.

A dependency that stops answering (a database or Redis whose port takes
connections into a full backlog and never answers, a PostgreSQL lock held by a
stuck transaction) costs a bounded wait, never a hung request; the web app's
liveness does not depend on the database; the edge (nginx) fails over when an
instance cannot be reached, never sends a request twice and refuses huge bodies; two agents racing on one
case get one answer each, never a 500; a Rasa instance killed under load is
restarted while the others serve.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import OperationalError

from bot.domain.models import AuditEntry, ChatMessage, ChatSession, HandoffCase
from bot.domain.responses import load_responses, response_text
from bot.domain.services import agents
from bot.domain.services.agents import token_hash
from bot.infra import db
from bot.infra.db import session_scope
from bot.infra.limits import RedisRateLimiter
from bot.infra.settings import DOMAIN_DIR, ROOT, get_settings
from bot.ops.edge import client_tls
from bot.ops.launcher import child_environment, commands, health_urls
from bot.rasa_runtime.tracker_sqlite import engine_kwargs as tracker_engine_kwargs
from tests.harness.edge import local_plan, running_edge
from tests.harness.servers import TOKEN, Servers, free_port
from tests.harness.web_clients import Console, Widget
from tests.production.conftest import redis_server  # noqa: F401 - a fixture


@contextlib.contextmanager
def blackhole() -> Iterator[int]:
    """A local port whose connects never complete (its listen backlog is full).

    What a crashed host or a dropped firewall rule looks like to a client: the
    connect hangs until the client gives up, no refusal comes back.
    """
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    filled = []
    while True:  # queue connects until one no longer completes
        probe = socket.socket()
        probe.settimeout(0.3)
        filled.append(probe)
        try:
            probe.connect(("127.0.0.1", port))
        except TimeoutError:
            break
    try:
        yield port
    finally:
        for probe in filled:
            probe.close()
        server.close()


def _timeouts(monkeypatch: pytest.MonkeyPatch, **seconds: str) -> None:
    for name, value in seconds.items():
        monkeypatch.setenv(name.upper(), value)
    db.get_engine.cache_clear()
    db._session_factory.cache_clear()


# --- timeouts -----------------------------------------------------------------------------


def test_a_statement_waiting_on_a_stuck_transaction_gives_up(
    postgres_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A transaction that holds a lock and hangs does not hang every request behind it."""
    _timeouts(monkeypatch, database_statement_timeout_seconds="1")
    stuck, waiting = db.make_engine(postgres_server), db.make_engine(postgres_server)
    outcome: dict[str, object] = {}

    def wait_for_the_lock() -> None:
        started = time.monotonic()
        try:
            with waiting.connect() as other:
                other.execute(text("SELECT pg_advisory_xact_lock(424242)"))
        except OperationalError as error:
            outcome["error"] = str(error)
        outcome["seconds"] = time.monotonic() - started

    try:
        with stuck.connect() as holder:
            holder.execute(text("SELECT pg_advisory_xact_lock(424242)"))  # held until rollback
            other = threading.Thread(target=wait_for_the_lock)
            other.start()
            other.join(timeout=10)
            holder.rollback()  # the stuck transaction ends (the old code waited until now)
            other.join()
    finally:
        stuck.dispose()
        waiting.dispose()
    assert "statement timeout" in str(outcome.get("error")), outcome
    assert outcome["seconds"] < 5


def test_rasas_tracker_store_on_postgresql_has_the_same_timeouts(
    postgres_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The conversation store (Rasa's own engine) cannot hang a turn either."""
    _timeouts(monkeypatch, database_statement_timeout_seconds="1")
    engine = create_engine(postgres_server, **tracker_engine_kwargs(postgres_server))
    try:
        with pytest.raises(OperationalError, match="statement timeout"), engine.connect() as c:
            c.execute(text("SELECT pg_sleep(5)"))
    finally:
        engine.dispose()


def test_migrations_are_not_cut_short_by_the_statement_timeout(
    postgres_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _timeouts(monkeypatch, database_statement_timeout_seconds="1")
    engine = db.make_engine(postgres_server, statement_timeout=False)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_sleep(1.5)"))
    finally:
        engine.dispose()


def test_an_unreachable_database_fails_after_the_connect_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _timeouts(monkeypatch, database_connect_timeout_seconds="2")
    with blackhole() as port:
        engine = db.make_engine(f"postgresql://postgres@127.0.0.1:{port}/nothing")
        started = time.monotonic()
        with pytest.raises(OperationalError, match="timeout"), engine.connect():
            pass
        assert time.monotonic() - started < 10
        engine.dispose()


@pytest.mark.asyncio
async def test_an_unreachable_redis_costs_one_timeout_then_limits_locally(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REDIS_TIMEOUT_SECONDS", "1")
    with blackhole() as port:
        limiter = RedisRateLimiter(f"redis://127.0.0.1:{port}/0", "fault", 2, 60.0)
        try:
            started = time.monotonic()
            answers = [await asyncio.wait_for(limiter.allow("k"), 20) for _ in range(3)]
            assert answers == [True, True, False]  # counted in this process meanwhile
            assert time.monotonic() - started < 10
        finally:
            await limiter.close()


# --- liveness is not readiness ------------------------------------------------------------


def test_liveness_answers_while_the_database_is_unreachable(tmp_path: Path) -> None:
    """A database outage makes the app not ready; it does not make it dead (restarted)."""
    with blackhole() as port:
        app = Servers(database_url=f"postgresql://postgres@127.0.0.1:{port}/x", log_dir=tmp_path)
        app.settings = app.settings.replace(
            app_port=free_port(), database_connect_timeout_seconds=2
        )
        web = commands(app.settings, app.model)["web"]
        app._spawn("web", web, child_environment(app.settings))
        try:
            url = f"http://127.0.0.1:{app.settings.app_port}"
            deadline = time.monotonic() + 60
            while True:
                with contextlib.suppress(httpx.ConnectError):
                    alive = httpx.get(f"{url}/health", timeout=10)
                    break
                assert time.monotonic() < deadline, "the web app did not start"
                time.sleep(0.5)
            assert alive.status_code == 200 and alive.json()["status"] == "ok"
            started = time.monotonic()
            ready = httpx.get(f"{url}/ready", timeout=20)
            assert ready.status_code == 503
            assert ready.json()["checks"]["database"] != "ok"
            assert time.monotonic() - started < 15  # the connect timeout, not TCP's minutes
            assert httpx.get(f"{url}/health", timeout=5).status_code == 200
        finally:
            app.stop()


# --- the edge in front of the Rasa instances ----------------------------------------------


@contextlib.contextmanager
def edge(servers: Servers, upstreams: list[str], folder: Path) -> Iterator[tuple[str, Path]]:
    """Real nginx with the edge's configuration in front of `upstreams` (host:port);
    its internal URL (where the web app reaches Rasa) and its log."""
    plan = local_plan(folder, tuple(upstreams), "127.0.0.1:1")
    with running_edge(plan, folder) as log:
        yield f"http://{plan.internal_listen}", log


def _upstreams_tried(log: Path, path: str, requests: int) -> list[list[str]]:
    """For each of the `requests` to `path`, in order: the instances the edge tried
    (nginx writes a request's line just after its answer: waits for all)."""
    deadline = time.monotonic() + 10
    while True:
        tried = []
        for line in log.read_text().splitlines():
            fields = line.split(" ", 6)  # time edge METHOD path status seconds upstreams
            if len(fields) == 7 and fields[3] == path:
                tried.append([address.strip() for address in fields[6].split(",")])
        if len(tried) >= requests or time.monotonic() > deadline:
            return tried
        time.sleep(0.1)


class DroppingInstance:
    """An instance that takes each request and dies before answering (a crash mid-turn)."""

    def __init__(self) -> None:
        self.received = 0
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.address = f"127.0.0.1:{self.server.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            with connection:
                connection.settimeout(5)
                data = b""
                with contextlib.suppress(OSError):
                    while b"\r\n\r\n" not in data:
                        chunk = connection.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                if data:
                    self.received += 1

    def close(self) -> None:
        self.server.close()


def test_the_edge_fails_over_when_an_instance_cannot_be_reached(
    servers: Servers, tmp_path: Path
) -> None:
    """An instance whose connects hang (not refused) is skipped like a stopped one,
    and then left out for a while instead of costing every request the wait."""
    good = servers.api.removeprefix("http://")
    with blackhole() as port, edge(servers, [f"127.0.0.1:{port}", good], tmp_path) as (url, log):
        for turn in range(4):  # round robin: the hung one would be first every other time
            answer = httpx.post(
                f"{url}/webhooks/rest/webhook",
                json={"sender": f"failover-{turn}-{time.time_ns()}", "message": "Hallo"},
                timeout=30,
            )
            assert answer.status_code == 200, (turn, answer.status_code, answer.text)
            assert answer.json() and answer.json()[0]["text"]
        tried = _upstreams_tried(log, "/webhooks/rest/webhook", 4)
    assert [attempts[-1] for attempts in tried] == [good] * 4  # each answered by the good one
    hung = [attempts for attempts in tried if f"127.0.0.1:{port}" in attempts]
    assert len(hung) <= 1, tried  # tried once, then left out


def test_a_request_that_reached_an_instance_is_never_sent_again(
    servers: Servers, tmp_path: Path
) -> None:
    first, second = DroppingInstance(), DroppingInstance()
    try:
        with edge(servers, [first.address, second.address], tmp_path) as (url, _):
            for number in range(3):
                before = first.received + second.received
                answer = httpx.post(
                    f"{url}/webhooks/rest/webhook",
                    json={"sender": f"once-{number}", "message": "Hallo"},
                    timeout=30,
                )
                assert answer.status_code == 502
                # at most once, never resent (once both have failed, neither is
                # tried for a few seconds: nothing is sent at all)
                assert first.received + second.received - before <= 1
            assert first.received == 1 and second.received == 1, "each tried once"
    finally:
        first.close()
        second.close()


def _raw_request(url: str, head: bytes, body: bytes) -> bytes:
    """Send a request's head and the start of its body; the first bytes of the answer."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(head + body)
        return connection.recv(200)


def test_the_edge_refuses_huge_bodies_without_reading_them(
    servers: Servers, tmp_path: Path
) -> None:
    with edge(servers, [servers.api.removeprefix("http://")], tmp_path) as (url, _):
        declared = (
            b"POST /webhooks/rest/webhook HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: 104857600\r\n\r\n"
        )
        # 100 MiB announced, 1 KiB sent: the answer comes without waiting for the rest
        assert _raw_request(url, declared, b" " * 1024).startswith(b"HTTP/1.1 413")
        chunked = (
            b"POST /webhooks/rest/webhook HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"%x\r\n%s\r\n" % (70000, b" " * 70000)  # over the limit, no end in sight
        assert _raw_request(url, chunked, chunk).startswith(b"HTTP/1.1 413")
        # a body within the limit goes through
        small = httpx.post(
            f"{url}/webhooks/rest/webhook",
            json={"sender": f"small-{time.time_ns()}", "message": "Hallo"},
            timeout=30,
        )
        assert small.status_code == 200


# --- agents racing on one case ------------------------------------------------------------

GREETINGS = ("utter_agent_returned", "utter_agent_closed")


def _agent(web: Servers, first_name: str) -> Console:
    """A new agent of its own, logged in (other tests' logins never lock it)."""
    username, password = f"{first_name.lower()}-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    with session_scope(web.database_url) as session:
        agents.create_agent(
            session, username=username, first_name=first_name, last_name="Test", password=password
        )
    console = Console(web.app_url)
    assert console.login(username, password).status_code == 303
    return console


def _case_of(web: Servers, widget: Widget) -> HandoffCase:
    with session_scope(web.database_url) as session:
        chat = session.scalars(
            select(ChatSession).where(ChatSession.token_hash == token_hash(widget.token or ""))
        ).one()
        case = session.scalars(
            select(HandoffCase).where(HandoffCase.conversation_id == chat.conversation_id)
        ).one()
        session.expunge(case)
        return case


def _bot_texts(web: Servers, conversation_id: str) -> list[str]:
    with session_scope(web.database_url) as session:
        return list(
            session.scalars(
                select(ChatMessage.text)
                .join(ChatSession, ChatSession.id == ChatMessage.chat_session_id)
                .where(ChatSession.conversation_id == conversation_id, ChatMessage.sender == "bot")
                .order_by(ChatMessage.id)
            )
        )


def _greetings_in_the_bot(web: Servers, conversation_id: str) -> list[str]:
    """The greetings the bot said in the conversation (Rasa's tracker)."""
    tracker = httpx.get(
        f"{web.api}/conversations/{conversation_id}/tracker", params={"token": TOKEN}, timeout=30
    ).json()
    return [
        e["name"]
        for e in tracker["events"]
        if e.get("event") == "action" and e.get("name") in GREETINGS
    ]


def _at_once(*requests: Callable[[], httpx.Response]) -> list[httpx.Response]:
    start = threading.Barrier(len(requests))

    def send(request: Callable[[], httpx.Response]) -> httpx.Response:
        start.wait()
        return request()

    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(send, requests))


def _finish_at_once(aylin: Console, jonas: Console, case_id: str) -> list[httpx.Response]:
    """Aylin releases and closes the case in two tabs while Jonas closes it."""
    path = f"/agent/api/cases/{case_id}"
    closing = {"disposition": "resolved", "note": "erledigt"}
    return _at_once(
        lambda: aylin.post(f"{path}/release"),
        lambda: aylin.post(f"{path}/close", closing),
        lambda: jonas.post(f"{path}/close", closing),
    )


@pytest.mark.asyncio
async def test_agents_racing_to_release_and_close_get_one_answer_each(web: Servers) -> None:
    """One of the racing requests wins, the customer hears the bot once, the others
    get a 409 that says why (never a 500, never a greeting for a step that lost)."""
    aylin, jonas = _agent(web, "Aylin"), _agent(web, "Jonas")
    texts = load_responses(DOMAIN_DIR)
    for _ in range(3):
        async with Widget(web.app_url) as widget:
            await widget.say("Ich möchte mit einem Mitarbeiter sprechen")
            case = _case_of(web, widget)
        assert aylin.post(f"/agent/api/cases/{case.case_id}/claim").status_code == 200
        before = _bot_texts(web, case.conversation_id)
        answers = _finish_at_once(aylin, jonas, case.case_id)
        seen = [(a.status_code, a.text) for a in answers]
        assert sorted(a.status_code for a in answers) == [200, 409, 409], seen
        for loser in (a for a in answers if a.status_code == 409):
            detail = loser.json()["detail"]
            assert "bereits abgeschlossen oder an den Bot" in detail or (
                "Aylin bearbeitet diesen Fall" in detail
            ), detail
        winner = next(a for a in answers if a.status_code == 200).json()["status"]
        said = _greetings_in_the_bot(web, case.conversation_id)
        assert said == [{"returned": GREETINGS[0], "closed": GREETINGS[1]}[winner]], said
        shown = _bot_texts(web, case.conversation_id)[len(before) :]
        assert shown == [response_text(texts, said[0], "de")]
        with session_scope(web.database_url) as session:
            status = session.scalars(
                select(HandoffCase.status).where(HandoffCase.case_id == case.case_id)
            ).one()
            finished = session.scalars(
                select(AuditEntry.action).where(
                    AuditEntry.case_id == case.case_id,
                    AuditEntry.action.in_(("release", "close")),
                )
            ).all()
        assert status == winner and len(finished) == 1


@pytest.mark.asyncio
async def test_a_release_the_bot_cannot_follow_is_undone(web: Servers) -> None:
    """The bot is down when the case is released: the agent hears so, nothing changed."""
    aylin = _agent(web, "Aylin")
    async with Widget(web.app_url) as widget:
        await widget.say("Ich möchte mit einem Mitarbeiter sprechen")
        case = _case_of(web, widget)
    assert aylin.post(f"/agent/api/cases/{case.case_id}/claim").status_code == 200
    before = _bot_texts(web, case.conversation_id)
    web.kill("rasa")
    try:
        refused = aylin.post(f"/agent/api/cases/{case.case_id}/release")
    finally:
        web.start_one("rasa")
    assert refused.status_code == 503 and "nicht erreichbar" in refused.json()["detail"]
    with session_scope(web.database_url) as session:
        row = session.scalars(select(HandoffCase).where(HandoffCase.case_id == case.case_id)).one()
        chat = session.scalars(
            select(ChatSession).where(ChatSession.conversation_id == case.conversation_id)
        ).one()
        assert (row.status, row.closed_at, chat.state) == ("claimed", None, "agent")
    assert _bot_texts(web, case.conversation_id) == before  # the customer was told nothing
    # Once the bot is back, the release goes through and the customer is greeted.
    assert aylin.post(f"/agent/api/cases/{case.case_id}/release").status_code == 200
    assert _greetings_in_the_bot(web, case.conversation_id) == ["utter_agent_returned"]


# --- a Rasa instance killed under load -----------------------------------------------------

CONVERSATIONS = 20
TURNS = ("Hallo", "Ich habe eine Frage zu meiner Rechnung", "Danke")


class Load:
    """Conversations that keep talking through the edge; every turn's outcome."""

    def __init__(self, url: str, conversations: int, tls: ssl.SSLContext) -> None:
        self.url, self.conversations, self.tls = url, conversations, tls
        self.stopping = threading.Event()
        self.outcomes: list[tuple[float, bool]] = []  # (when it was sent, answered)
        self.threads = [
            threading.Thread(target=self._talk, args=(number,), daemon=True)
            for number in range(conversations)
        ]

    def _talk(self, number: int) -> None:
        with httpx.Client(timeout=90, verify=self.tls) as client:
            turn = 0
            while not self.stopping.is_set():
                sender = f"load-{number}-{turn // len(TURNS)}-{uuid.uuid4().hex[:6]}"
                sent = time.monotonic()
                try:
                    answer = client.post(
                        f"{self.url}/webhooks/rest/webhook",
                        json={"sender": sender, "message": TURNS[turn % len(TURNS)]},
                    )
                    answered = answer.status_code == 200 and bool(answer.json())
                except httpx.HTTPError:
                    answered = False
                self.outcomes.append((sent, answered))
                turn += 1
                time.sleep(0.2)

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=120)

    def failed(self) -> int:
        return sum(1 for _, answered in self.outcomes if not answered)


def _started(log: Path) -> dict[str, list[int]]:
    """The processes the launcher started, by name: their pids in order."""
    pids: dict[str, list[int]] = {}
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("launcher | ") and " started (pid " in line:
            name, pid = line.removeprefix("launcher | ").split(" started (pid ")
            pids.setdefault(name, []).append(int(pid.rstrip(")")))
    return pids


def _wait_until(what: str, condition: Callable[[], bool], seconds: float, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {seconds} s; see {log}"
        time.sleep(1)


def _serves(url: str) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        answer = httpx.post(
            url, json={"sender": f"probe-{uuid.uuid4().hex}", "message": "Hallo"}, timeout=30
        )
        return answer.status_code == 200 and bool(answer.json())
    return False


def test_a_rasa_instance_killed_under_load_is_restarted_while_the_others_serve(
    postgres_urls: tuple[str, str],
    redis_server: str,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> None:
    """`make run-prod`'s launcher, 20 conversations over HTTPS through the edge,
    `kill -9` of one Rasa instance: only the turns in flight on it fail."""
    data, tracker = postgres_urls
    topology = Servers(
        database_url=data,
        log_dir=tmp_path,
        tracker_store_url=tracker,
        redis_url=redis_server,
        rasa_instances=2,
        actions="server",  # as `make run-prod` runs it
    )
    settings = topology.settings = topology.settings.replace(log_format="json")
    log = tmp_path / "launcher.log"
    env = {**os.environ, **settings.environment(), "PYTHONPATH": str(ROOT)}
    with open(log, "w") as out:
        launcher = subprocess.Popen(
            [sys.executable, "-m", "bot.ops.launcher"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        for name in health_urls(settings):
            topology._wait(health_urls(settings)[name], need_model=name.startswith("rasa"))
        first = _started(log)
        assert set(first) == {"rasa-1", "rasa-2", "edge", "actions", "web"}
        with Load(topology.public_url, CONVERSATIONS, client_tls(settings)) as load:
            time.sleep(10)
            os.kill(first["rasa-1"][0], signal.SIGKILL)
            killed_at = time.monotonic()
            _wait_until(
                "rasa-1 started again", lambda: len(_started(log).get("rasa-1", [])) == 2, 60, log
            )
            instance = topology.instance_webhook(1)
            _wait_until("rasa-1 serving again", lambda: _serves(instance), 300, log)
            time.sleep(5)
        assert launcher.poll() is None, "the launcher stopped"
        text = log.read_text(errors="replace")
        assert "rasa-1 exited with code -9; starting it again in 1 s" in text
        assert "stopping the others" not in text
        again = _started(log)
        assert {name: pids for name, pids in again.items() if name != "rasa-1"} == {
            name: pids for name, pids in first.items() if name != "rasa-1"
        }  # no other process was restarted
        after = [answered for sent, answered in load.outcomes if sent > killed_at]
        print(f"turns {len(load.outcomes)}, after the kill {len(after)}, failed {load.failed()}")
        assert len(load.outcomes) > 200 and len(after) > 100, len(load.outcomes)
        # only the turns in flight on the killed instance may fail: one per conversation at most
        assert load.failed() <= CONVERSATIONS, (load.failed(), len(load.outcomes))
        # and every turn sent after it died went to the other one at once
        late = [sent - killed_at for sent, answered in load.outcomes if not answered]
        assert all(delay < 0.5 for delay in late), late
        assert _serves(topology.instance_webhook(1)) and _serves(topology.instance_webhook(2))
    finally:
        launcher.send_signal(signal.SIGTERM)
        try:
            launcher.wait(timeout=60)
        except subprocess.TimeoutExpired:
            launcher.kill()


def test_settings_have_bounded_waits_by_default() -> None:
    settings = get_settings()
    assert 0 < settings.database_connect_timeout_seconds <= 30
    assert 0 < settings.database_statement_timeout_seconds <= 300
    assert 0 < settings.database_pool_timeout_seconds <= 60
    assert 0 < settings.redis_timeout_seconds <= 10
