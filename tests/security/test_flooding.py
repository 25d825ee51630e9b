"""Flooding the assistant (issue 12, finding 6).

Before: anyone could open unlimited handoff cases; every change of the
queue read every active case's transcript again and sent the whole queue to
every console; typing and language frames had no limit; `/metrics` was
public and counted whole tables on every scrape. Each test here floods the
real servers the way an attacker would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from fastapi.testclient import TestClient
from sqlalchemy import event, select, update

from bot.domain.models import ChatSession, HandoffCase
from bot.domain.services import agents, handoff
from bot.domain.services import chat as chats
from bot.domain.services.agents import token_hash
from bot.domain.services.stats import events_table
from bot.infra.db import get_engine, session_scope
from bot.infra.settings import load_settings
from bot.web import app as web_app
from bot.web.frame_budget import FRAMES, POLICY_VIOLATION
from bot.web.metrics import Metrics
from bot.web.security import SESSION_COOKIE
from tests.harness.servers import METRICS_TOKEN, Servers
from tests.harness.web_clients import Widget
from tests.security.conftest import Attacker, new_address
from tests.security.test_agent_sessions import live_console_of_new_agent

PERSON = "Ich möchte mit einem Mitarbeiter sprechen"


# --- helpers ---------------------------------------------------------------------------


def waiting_web_chat(database_url: str, lines: int = 30) -> tuple[str, str]:
    """A customer's web chat waiting for a person, `lines` messages long: (token, case id)."""
    with session_scope(database_url) as session:
        token, chat = chats.start(session, "de")
        for number in range(lines):
            chats.add_message(session, chat.id, "customer", f"Nachricht {number}")
        case = handoff.open_case(
            session,
            conversation_id=chat.conversation_id,
            reason="customer_request",
            language="de",
            channel="web",
            customer_number="10000001",
            transcript=[],
        )
        chats.update(session, chat.id, state="waiting", case_id=case.case_id)
        return token, case.case_id


def close_cases(database_url: str, case_ids: list[str]) -> None:
    """Take a test's cases out of the shared queue again."""
    with session_scope(database_url) as session:
        session.execute(
            update(HandoffCase).where(HandoffCase.case_id.in_(case_ids)).values(status="closed")
        )


async def frames_until(
    live: websockets.WebSocketClientProtocol, done: Any, timeout: float = 30
) -> list[dict[str, Any]]:
    """The console's frames up to the first one `done` accepts."""
    seen: list[dict[str, Any]] = []

    async def read() -> None:
        while True:
            frame = json.loads(await live.recv())
            seen.append(frame)
            if done(frame):
                return

    await asyncio.wait_for(read(), timeout)
    return seen


@contextmanager
def statements_on(database_url: str) -> Iterator[list[tuple[str, Any]]]:
    """Every SQL statement (with its parameters) run on this database while the block runs."""
    seen: list[tuple[str, Any]] = []

    def count(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    engine = get_engine(database_url)
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


# --- 1. cases per source ------------------------------------------------------------------


def cases_of(database_url: str, conversations: list[str]) -> dict[str, str]:
    """conversation → case id, for those of `conversations` that have a case."""
    with session_scope(database_url) as session:
        rows = session.execute(
            select(HandoffCase.conversation_id, HandoffCase.case_id).where(
                HandoffCase.conversation_id.in_(conversations)
            )
        )
        return dict(rows.all())


def test_one_address_cannot_fill_the_queue_over_rest(servers: Servers) -> None:
    """New conversations from one address, all at once, each asking for a person."""
    address = new_address()
    limit = servers.settings.handoff_cases_per_source_per_hour
    attackers = [Attacker(servers, address) for _ in range(limit + 5)]
    with ThreadPoolExecutor(8) as pool:
        answers = dict(zip(attackers, pool.map(lambda a: a.say(PERSON), attackers), strict=True))
    opened = cases_of(servers.database_url, [a.sender for a in attackers])
    assert len(opened) == limit
    refused = [a for a in attackers if a.sender not in opened]
    assert len(refused) == 5
    for attacker in refused:
        # Told politely that the request is already waiting; the bot stays with them.
        assert "bereits vor" in answers[attacker] and "H-" not in answers[attacker]
        assert not attacker.slots().get("handoff_case")
    turkish = Attacker(servers, address)
    assert "zaten iletildi" in turkish.say("bir temsilciyle görüşmek istiyorum")
    assert not cases_of(servers.database_url, [turkish.sender])
    # Everybody else still reaches a person.
    assert "H-" in Attacker(servers).say(PERSON)


@pytest.mark.asyncio
async def test_one_address_cannot_fill_the_queue_over_web_chat(web: Servers) -> None:
    proxy_says = {"X-Forwarded-For": new_address()}  # what the edge proxy adds
    limit = web.settings.handoff_cases_per_source_per_hour
    for _ in range(limit):
        async with Widget(web.app_url, headers=proxy_says) as widget:
            await widget.say(PERSON)
            assert case_of(web, widget)
    async with Widget(web.app_url, headers=proxy_says, language="tr") as widget:
        said = " ".join(m["text"] for m in await widget.say("bir temsilciyle görüşmek istiyorum"))
        assert "zaten iletildi" in said
        assert not any(f["type"] == "state" for f in widget.frames)  # still with the bot
        assert stored_case(web, widget) is None
    async with Widget(web.app_url, headers={"X-Forwarded-For": new_address()}) as elsewhere:
        await elsewhere.say(PERSON)
        assert case_of(web, elsewhere)


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_parallel_openings_of_one_source_stop_at_the_limit(
    database: str, request: pytest.FixtureRequest
) -> None:
    """Twenty openings of one source at the same moment: exactly the limit gets a case."""
    if database == "sqlite":
        url = request.getfixturevalue("database_url")
    else:
        url = request.getfixturevalue("postgres_urls")[0]
    source = f"rest:{new_address()}"
    barrier = threading.Barrier(20, timeout=10)

    def open_one(number: int) -> str:
        barrier.wait()
        try:
            with session_scope(url) as session:
                return handoff.open_case(
                    session,
                    conversation_id=f"parallel-{source}-{number}",
                    reason="customer_request",
                    language="de",
                    channel="rest",
                    customer_number=None,
                    transcript=[],
                    limit=handoff.SourceLimit(source, 3, b"test-pseudonym-key-0123456789abcdef"),
                ).case_id
        except handoff.TooManyCases:
            return "refused"

    with ThreadPoolExecutor(20) as pool:
        outcomes = list(pool.map(open_one, range(20)))
    assert outcomes.count("refused") == 17


# --- 2. a queue change costs what changed ------------------------------------------------


def about(case_id: str) -> Any:
    """A `frames_until` condition: the first frame about this case (typing aside)."""
    return lambda f: f.get("type") != "typing" and f.get("case", {}).get("case_id") == case_id


@pytest.mark.asyncio
async def test_a_customer_reconnecting_sends_consoles_only_their_case(web: Servers) -> None:
    """A waiting customer reconnects in a loop; each time every console hears of the queue."""
    others = [waiting_web_chat(web.database_url)[1] for _ in range(25)]
    token, case_id = waiting_web_chat(web.database_url)
    _, live = await live_console_of_new_agent(web, "flood-watch")
    try:
        for _ in range(5):
            async with Widget(web.app_url, token=token):
                opened = await frames_until(live, about(case_id))
            closed = await frames_until(live, about(case_id))
            for frame in (*opened, *closed):
                # One case a frame, not the queue of 26 (with every transcript read
                # again); another waiting case may change meanwhile (the queue's own
                # checks), each in a frame of its own.
                assert frame["type"] == "case", frame["type"]
                assert len(json.dumps(frame)) < 2000
            assert opened[-1]["case"]["live"] is True and closed[-1]["case"]["live"] is False
    finally:
        await live.close()
        close_cases(web.database_url, [*others, case_id])


def test_a_case_change_costs_the_same_however_long_the_queue(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database work of one change, with 2 and with 30 cases in the queue, is the same."""
    monkeypatch.setenv("REDIS_URL", "")  # one process: the hub delivers itself
    monkeypatch.setattr(web_app, "REQUEUE_CHECK_SECONDS", 3600)  # no background work meanwhile
    with session_scope(database_url) as session:
        agent_id = agents.create_agent(
            session,
            username="queue-cost",
            first_name="Test",
            last_name="Agent",
            password="a-long-test-password",
        ).id
        console_token, _ = agents.start_session(session, agent_id)
    work: dict[int, int] = {}  # queue length → SQL statements of one change
    frames: dict[int, dict[str, Any]] = {}
    cases: dict[int, str] = {}
    with TestClient(web_app.create_app()) as client:
        for queue_length in (2, 30):
            while _active(database_url) < queue_length - 1:
                waiting_web_chat(database_url)
            token, case_id = waiting_web_chat(database_url)
            cookie = {"cookie": f"{SESSION_COOKIE}={console_token}"}
            with client.websocket_connect("/agent/ws", headers=cookie) as console:
                assert len(console.receive_json()["cases"]) == queue_length
                with client.websocket_connect("/chat/ws") as widget:
                    # The customer opens the chat: consoles show the case as live.
                    with statements_on(database_url) as statements:
                        widget.send_json({"type": "hello", "token": token, "language": "de"})
                        assert widget.receive_json()["type"] == "session"
                        frames[queue_length] = console.receive_json()
                    work[queue_length] = len(statements)
            cases[queue_length] = case_id
    assert work[2] == work[30], work
    for queue_length, frame in frames.items():
        assert frame["type"] == "case" and frame["case"]["case_id"] == cases[queue_length]
        assert frame["case"]["live"] is True


def _active(database_url: str) -> int:
    with session_scope(database_url) as session:
        return session.query(HandoffCase).filter(HandoffCase.status == "open").count()


# --- 3. every frame type is rate-limited ------------------------------------------------


async def flood(socket: websockets.WebSocketClientProtocol, frames: list[dict[str, Any]]) -> None:
    """Send `frames` as fast as the socket takes them (the server may close it meanwhile)."""
    with contextlib.suppress(websockets.ConnectionClosed):
        for frame in frames:
            await socket.send(json.dumps(frame))


async def frames_until_closed(
    socket: websockets.WebSocketClientProtocol, timeout: float = 60
) -> list[dict[str, Any]]:
    """What the server sends until it closes the socket (fails if it never does)."""
    seen: list[dict[str, Any]] = []

    async def read() -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                seen.append(json.loads(await socket.recv()))

    await asyncio.wait_for(read(), timeout)
    return seen


@pytest.mark.asyncio
async def test_a_customer_flooding_typing_frames_is_cut_off(web: Servers) -> None:
    _, live = await live_console_of_new_agent(web, "typing-flood-watch")
    try:
        async with Widget(web.app_url) as widget:
            await widget.say(PERSON)
            case_id = case_of(web, widget)
            typing = {"type": "typing", "active": True}
            await flood(widget.socket, [typing] * 40 + [{"type": "message", "text": "Hallo?"}])
            await flood(widget.socket, [typing] * 300)
            answered = await frames_until_closed(widget.socket)
            # The message over the limit got the polite word of any message over a limit.
            notices = [f for f in answered if f["type"] == "notice"]
            assert notices and notices[0]["code"] == "rate_limited"
            assert "Moment" in notices[0]["text"]
            assert widget.socket.close_code == POLICY_VIOLATION
        # The agents saw no more of it than the limit lets through.
        seen = await frames_for(live, seconds=3)
        forwarded = [f for f in seen if f["type"] == "typing" and f["case_id"] == case_id]
        assert len(forwarded) <= FRAMES
    finally:
        await live.close()


@pytest.mark.asyncio
async def test_a_customer_flooding_language_frames_is_cut_off(web: Servers) -> None:
    async with Widget(web.app_url) as widget:
        switches = [{"type": "language", "language": lang} for lang in ("tr", "de") * 200]
        await flood(widget.socket, switches)
        await frames_until_closed(widget.socket)
        assert widget.socket.close_code == POLICY_VIOLATION


@pytest.mark.asyncio
async def test_an_agent_flooding_the_console_socket_is_cut_off(web: Servers) -> None:
    console, live = await live_console_of_new_agent(web, "console-flood")
    try:
        async with Widget(web.app_url) as widget:
            await widget.say(PERSON)
            case_id = case_of(web, widget)
            assert console.post(f"/agent/api/cases/{case_id}/claim").status_code == 200
            typing = {"type": "typing", "case_id": case_id, "active": True}
            await flood(live, [typing] * 60 + [{"type": "ping"}] * 300)
            await frames_until_closed(live)
            assert live.close_code == POLICY_VIOLATION
            # The customer saw no more typing than the limit lets through.
            with contextlib.suppress(asyncio.TimeoutError):
                while True:
                    await widget.next("typing", timeout=3)
            shown = [f for f in widget.frames if f["type"] == "typing" and f["from"] == "agent"]
            assert 0 < len(shown) <= FRAMES
    finally:
        await live.close()


def stored_case(web: Servers, widget: Widget) -> str | None:
    """The case of the widget's chat, if it has one (found by the token the browser keeps)."""
    with session_scope(web.database_url) as session:
        return session.scalars(
            select(ChatSession.case_id).where(
                ChatSession.token_hash == token_hash(widget.token or "")
            )
        ).one()


def case_of(web: Servers, widget: Widget) -> str:
    case_id = stored_case(web, widget)
    assert case_id, "the chat was not handed off"
    return case_id


async def frames_for(
    live: websockets.WebSocketClientProtocol, seconds: float
) -> list[dict[str, Any]]:
    """Whatever the console hears in the next `seconds`."""
    seen: list[dict[str, Any]] = []
    with contextlib.suppress(asyncio.TimeoutError):
        while True:
            seen.append(json.loads(await asyncio.wait_for(live.recv(), seconds)))
    return seen


# --- 4. /metrics: for Prometheus only, and cheap -------------------------------------------


@pytest.mark.asyncio
async def test_metrics_are_for_prometheus_only(web: Servers) -> None:
    url = f"{web.app_url}/metrics"
    outside = {"X-Forwarded-For": new_address()}  # a stranger, through our proxy
    async with httpx.AsyncClient(timeout=30) as client:
        stranger = await client.get(url, headers=outside)
        guessing = await client.get(url, headers={**outside, "Authorization": "Bearer guess"})
        prometheus = await client.get(
            url, headers={**outside, "Authorization": f"Bearer {METRICS_TOKEN}"}
        )
        here = await client.get(url)  # this machine (a sidecar, the node's agent)
    for refused in (stranger, guessing):
        assert refused.status_code == 403 and "stadtwerk_" not in refused.text
    for allowed in (prometheus, here):
        assert allowed.status_code == 200 and "stadtwerk_handoff_queue" in allowed.text


def test_what_happens_is_counted_when_it_happens(web: Servers) -> None:
    def scraped(name: str) -> float:
        text = httpx.get(f"{web.app_url}/metrics", timeout=30).text
        return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name))

    fallbacks, handoffs = scraped("stadtwerk_fallbacks_total"), scraped("stadtwerk_handoffs_total")
    customer = Attacker(web)
    customer.say("xqzt vbnmk plorf")  # the bot did not understand
    customer.say(PERSON)
    assert scraped("stadtwerk_fallbacks_total") == fallbacks + 1
    assert scraped("stadtwerk_handoffs_total") == handoffs + 1


def test_a_scrape_reads_no_whole_table(database_url: str, tmp_path: Path) -> None:
    """Every query of a scrape finds its rows through an index (SQLite's query plans)."""
    tracker_store = f"sqlite:///{tmp_path / 'tracker.db'}"
    events_table().metadata.create_all(get_engine(tracker_store))
    with get_engine(tracker_store).begin() as connection:
        connection.execute(
            events_table().insert(),
            [
                {"sender_id": f"c{n}", "type_name": "user", "intent_name": "nlu_fallback"}
                for n in range(50)
            ],
        )
    for _ in range(30):
        waiting_web_chat(database_url, lines=2)
    settings = load_settings().replace(database_url=database_url, tracker_store_url=tracker_store)
    metrics = Metrics(settings, live_chats=lambda: 0)
    with statements_on(database_url) as ours, statements_on(tracker_store) as rasas:
        text = metrics.exposition().decode()
    assert 'stadtwerk_handoffs_total{channel="web",reason="customer_request"} 30.0' in text
    scans = [
        (statement, step)
        for url, statements in ((database_url, ours), (tracker_store, rasas))
        for statement, parameters in statements
        for step in query_plan(url, statement, parameters)
        if step.startswith("SCAN") and "metric_counters" not in step  # a row per label set
    ]
    assert scans == []


def query_plan(url: str, statement: str, parameters: Any) -> list[str]:
    """SQLite's plan for a statement: `SCAN t` reads all of t, `SEARCH t USING INDEX` does not."""
    with get_engine(url).connect() as connection:
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        return [row[-1] for row in rows]
