"""Faults that must neither hang, leak nor lose: each test causes the fault for real.

A dependency that stops answering (a database or Redis whose port takes
connections into a full backlog and never answers, a PostgreSQL lock held by a
stuck transaction) costs a bounded wait, never a hung request; the web app's
liveness does not depend on the database; the balancer fails over when an
instance cannot be reached and refuses huge bodies; two agents racing on one
case get one answer each, never a 500; a Rasa instance killed under load is
restarted while the others serve.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from bot.infra import db
from bot.infra.limits import RedisRateLimiter
from bot.infra.settings import get_settings
from bot.ops.launcher import child_environment, commands
from tests.harness.servers import Servers, free_port


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


def test_settings_have_bounded_waits_by_default() -> None:
    settings = get_settings()
    assert 0 < settings.database_connect_timeout_seconds <= 30
    assert 0 < settings.database_statement_timeout_seconds <= 300
    assert 0 < settings.database_pool_timeout_seconds <= 60
    assert 0 < settings.redis_timeout_seconds <= 10
