"""The web chat and the agent console against the real app, Rasa and action servers."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import websockets
from sqlalchemy import select
from websockets.exceptions import InvalidStatusCode

from bot.domain.models import AuditEntry, ChatMessage, ChatSession, HandoffCase
from bot.domain.services import agents
from bot.domain.services.agents import token_hash
from bot.infra.db import session_scope
from bot.infra.settings import DEV_TWILIO_TOKEN
from bot.ops.phone_sim import PhoneCall
from tests.e2e.conftest import handoff_for, row_counts
from tests.harness.servers import Servers
from tests.harness.web_clients import Console, Widget, customer_message, ws_url

pytestmark = pytest.mark.asyncio

AYLIN = ("aylin", "demo-aylin-2026")
JONAS = ("jonas", "demo-jonas-2026")


def logged_in(web: Servers, who: tuple[str, str] = AYLIN) -> Console:
    console = Console(web.app_url)
    assert console.login(*who).status_code == 303
    return console


def stored_chat(web: Servers, widget: Widget) -> ChatSession:
    """The widget's session as stored (found by its token, as the app does)."""
    with session_scope(web.database_url) as session:
        chat = session.scalars(
            select(ChatSession).where(ChatSession.token_hash == token_hash(widget.token or ""))
        ).one()
        session.expunge(chat)
        return chat


def customer_messages(web: Servers, widget: Widget) -> list[str]:
    chat = stored_chat(web, widget)
    with session_scope(web.database_url) as session:
        return list(
            session.scalars(
                select(ChatMessage.text).where(
                    ChatMessage.chat_session_id == chat.id, ChatMessage.sender == "customer"
                )
            )
        )


async def test_turkish_chat_with_the_bot_survives_a_reload(web: Servers) -> None:
    async with Widget(web.app_url, language="tr") as widget:
        assert widget.session["language"] == "tr" and widget.session["history"] == []
        reply = await widget.texts("faturamı öğrenmek istiyorum")
        assert "müşteri numaranız" in reply
        echo = next(f for f in widget.frames if f["type"] == "message" and f["from"] == "customer")
        assert echo["text"] == "faturamı öğrenmek istiyorum"
        token = widget.token
    # A reload: the same token brings back the conversation, in order.
    async with Widget(web.app_url, language="de", token=token) as again:
        history = again.session["history"]
        assert [m["from"] for m in history[:2]] == ["customer", "bot"]
        assert again.session["language"] == "tr"
        reply = await again.texts("10000001")
        assert "posta kodu" in reply.lower()


async def test_questions_carry_their_input_hint_into_the_widget_and_its_history(
    web: Servers,
) -> None:
    async with Widget(web.app_url) as widget:
        asked = await widget.say("Ich habe eine Frage zu meiner Rechnung")
        assert asked[-1]["expects"] == {"kind": "digits", "length": 8}
        assert all(m["expects"] is None for m in asked[:-1])
        asked = await widget.say("10000002")
        assert asked[-1]["expects"] == {"kind": "digits", "length": 5}
        token = widget.token
    # A reloaded widget offers the same keyboard: the hint is stored with the message.
    async with Widget(web.app_url, token=token) as again:
        assert again.session["history"][-1]["expects"] == {"kind": "digits", "length": 5}
        answered = await again.say("44137")
        assert answered[-1]["expects"] == {"kind": "date"}


async def test_unknown_token_starts_an_empty_session(web: Servers) -> None:
    async with Widget(web.app_url) as first:
        await first.say("Hallo")
    async with Widget(web.app_url, token="x" * 43) as stranger:
        assert stranger.session["history"] == []
        assert stranger.token != first.token


async def test_escalation_loop_in_german(web: Servers) -> None:
    console = logged_in(web)
    live = await console.live()
    try:
        queue = json.loads(await asyncio.wait_for(live.recv(), 10))
        assert queue["type"] == "queue"
        async with Widget(web.app_url) as widget:
            await widget.say("Ich möchte bitte mit einem Mitarbeiter sprechen")
            assert {"type": "state", "state": "waiting", "agent_name": None} in widget.frames
            chat = stored_chat(web, widget)
            case_id = chat.case_id
            assert case_id and chat.state == "waiting"
            case = console.case_of(case_id)
            assert case is not None
            assert case["status"] == "waiting" and case["channel"] == "web"
            assert case["language"] == "de" and case["reason"] == "customer_request"
            assert case["live"] is True and case["mine"] is False

            # Aylin claims it: the customer is told who is there.
            claimed = console.post(f"/agent/api/cases/{case_id}/claim")
            assert claimed.status_code == 200, claimed.text
            detail = claimed.json()
            assert detail["mine"] and detail["status"] == "claimed"
            assert any("Mitarbeiter" in m["text"] for m in detail["transcript"])
            state = await widget.next("state")
            assert state == {"type": "state", "state": "agent", "agent_name": "Aylin"}
            joined = [f for f in widget.frames if f["type"] == "message" and f["from"] == "system"]
            assert joined and "Aylin" in joined[-1]["text"]

            # She replies; the widget shows it as from a person.
            sent = console.post(
                f"/agent/api/cases/{case_id}/messages",
                {"text": "Guten Tag, hier ist Aylin. Wie kann ich helfen?"},
            )
            assert sent.status_code == 201
            message = await widget.next("message")
            assert message["from"] == "agent" and message["agent_name"] == "Aylin"
            assert message["id"] == sent.json()["id"]

            # The customer answers: the bot stays quiet, the console sees it live.
            await widget.send(type="message", text="Ich ziehe um und brauche Hilfe")
            echo = await widget.next("message")
            assert echo["from"] == "customer"
            after_echo = len(widget.frames)

            seen = await customer_message(live, 10)
            assert seen["case_id"] == case_id
            assert seen["message"]["text"] == "Ich ziehe um und brauche Hilfe"
            with pytest.raises(asyncio.TimeoutError):
                await widget.next("message", timeout=1.5)  # the bot stays quiet
            assert all(f["type"] != "typing" for f in widget.frames[after_echo:])

            # Back to the bot: it greets in German and answers the next message.
            released = console.post(f"/agent/api/cases/{case_id}/release")
            assert released.status_code == 200, released.text
            state = await widget.next("state")
            assert state["state"] == "bot"
            back = [f for f in widget.frames if f["type"] == "message" and f["from"] == "bot"]
            assert "digitalen Assistenten" in back[-1]["text"]
            reply = await widget.texts("Ich habe eine Frage zu meiner Rechnung")
            assert "Kundennummer" in reply
    finally:
        await live.close()
    with session_scope(web.database_url) as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.case_id == case_id)
        ).all()
        assert actions == ["claim", "reply", "release"]
        case_row = session.scalars(select(HandoffCase).where(HandoffCase.case_id == case_id)).one()
        assert case_row.status == "returned"


async def test_two_agents_cannot_claim_the_same_case(web: Servers) -> None:
    aylin, jonas = logged_in(web, AYLIN), logged_in(web, JONAS)
    async with Widget(web.app_url, language="tr") as widget:
        await widget.say("bir temsilciyle görüşmek istiyorum")
        case_id = stored_chat(web, widget).case_id
        with ThreadPoolExecutor(2) as pool:
            answers = list(
                pool.map(lambda c: c.post(f"/agent/api/cases/{case_id}/claim"), [aylin, jonas])
            )
        codes = sorted(a.status_code for a in answers)
        assert codes == [200, 409]
        loser = next(a for a in answers if a.status_code == 409)
        assert "bearbeitet diesen Fall bereits" in loser.json()["detail"]
        winner = aylin if answers[0].status_code == 200 else jonas
        other = jonas if winner is aylin else aylin
        # Only the owner may write or close.
        assert (
            other.post(f"/agent/api/cases/{case_id}/messages", {"text": "hallo"}).status_code == 409
        )
        closed = winner.post(
            f"/agent/api/cases/{case_id}/close",
            {"disposition": "resolved", "note": "Umzug besprochen"},
        )
        assert closed.status_code == 200, closed.text
        while (await widget.next("state"))["state"] != "bot":
            pass  # first the claim's "agent", then "bot" after closing
        bot = [f for f in widget.frames if f["type"] == "message" and f["from"] == "bot"]
        assert "dijital asistan" in bot[-1]["text"]
    assert winner.case_of(case_id) is None  # closed cases leave the queue


async def test_bad_input_gets_a_polite_notice_and_changes_nothing(web: Servers) -> None:
    async with Widget(web.app_url) as widget:
        before = row_counts(web.database_url)
        for text, code in [("", "empty"), ("   \u0007\u0000 ", "empty"), ("x" * 2001, "too_long")]:
            await widget.send(type="message", text=text)
            notice = await widget.next("notice")
            assert notice["code"] == code and notice["text"]
        await widget.socket.send("{not json")
        assert (await widget.next("notice"))["code"] == "invalid"
        await widget.send(type="message", text=["a", "list"])
        assert (await widget.next("notice"))["code"] == "invalid"
        await widget.send(type="language", language="fr")
        assert (await widget.next("notice"))["code"] == "invalid"
        assert row_counts(web.database_url) == before
        # HTML is kept as text, never as markup.
        await widget.say("<b>Hallo</b> <script>alert(1)</script>")
        echo = next(f for f in widget.frames if f["type"] == "message" and f["from"] == "customer")
        assert echo["text"] == "<b>Hallo</b> <script>alert(1)</script>"


async def test_rate_limit_holds(web: Servers) -> None:
    async with Widget(web.app_url) as widget:
        for _ in range(10):
            await widget.send(type="message", text="/greet", payload="/greet")
        await widget.send(type="message", text="noch eine")
        notice = await widget.next("notice", timeout=120)
        assert notice["code"] == "rate_limited" and "Moment" in notice["text"]
        assert customer_messages(web, widget) == ["/greet"] * 10


async def test_console_requires_login_and_csrf(web: Servers) -> None:
    anonymous = Console(web.app_url)
    page = anonymous.get("/agent")
    assert page.status_code == 303 and page.headers["location"] == "/agent/login"
    for path in (
        "/agent/api/me",
        "/agent/api/cases",
        "/agent/api/stats",
        "/agent/api/cases/H-00000000",
    ):
        assert anonymous.get(path).status_code == 401, path
    assert anonymous.post("/agent/api/cases/H-00000000/claim").status_code == 401
    # Wrong password, and a login form without its CSRF cookie.
    assert Console(web.app_url).login("aylin", "wrong password!").status_code == 401
    forged = Console(web.app_url).http.post(
        "/agent/login", data={"username": "aylin", "password": AYLIN[1], "csrf_token": "x"}
    )
    assert forged.status_code == 403 and "stadtwerk_agent" not in forged.cookies
    # Logged in, but a change without the CSRF header is refused.
    console = logged_in(web)
    assert console.get("/agent/api/me").json()["first_name"] == "Aylin"
    assert console.post("/agent/api/cases/H-00000000/claim", csrf=False).status_code == 403
    assert console.post("/agent/api/cases/H-00000000/claim").status_code == 404
    # A console WebSocket without the cookie, or from another site, is refused.
    with pytest.raises(InvalidStatusCode):
        await Console(web.app_url).live()
    with pytest.raises(InvalidStatusCode):
        await websockets.connect(
            ws_url(web.app_url, "/agent/ws"),
            extra_headers={"Cookie": console.cookie_header(), "Origin": "https://evil.example"},
        )
    # Logout ends the session on the server, not only in the browser (and needs CSRF).
    cookie = console.http.cookies.get("stadtwerk_agent")
    assert console.http.post("/agent/logout", data={"csrf_token": "forged"}).status_code == 403
    assert console.get("/agent/api/me").status_code == 200
    out = console.http.post("/agent/logout", data={"csrf_token": console.csrf})
    assert out.status_code == 303
    replay = Console(web.app_url)
    replay.http.cookies.set("stadtwerk_agent", cookie)
    assert replay.get("/agent/api/me").status_code == 401


async def test_login_attempts_are_limited(web: Servers) -> None:
    lena = ("lena", "lenas-richtiges-passwort")
    with session_scope(web.database_url) as session:
        agents.create_agent(
            session, username=lena[0], first_name="Lena", last_name="Koch", password=lena[1]
        )
    guesses = [Console(web.app_url).login("lena", f"guess-{n}").status_code for n in range(6)]
    assert guesses == [401] * 5 + [429]
    # Blocked means blocked: for a while, the right password does not get in either...
    assert Console(web.app_url).login(*lena).status_code == 429
    # ...while colleagues are not locked out.
    assert Console(web.app_url).login(*JONAS).status_code == 303


async def test_dashboard_figures(web: Servers) -> None:
    console = logged_in(web)
    async with Widget(web.app_url) as widget:
        await widget.say("Ich möchte mit einem Menschen sprechen")
    figures = console.get("/agent/api/stats?days=7").json()
    assert len(figures["days"]) == 7
    today = figures["days"][-1]
    assert today["by_channel"]["web"] >= 1 and today["by_language"]["de"] >= 1
    assert figures["handoffs_by_reason"].get("customer_request", 0) >= 1
    assert 0 <= figures["containment"] < 1
    assert any(name == "request_human" for name, _ in figures["top_intents"])


async def test_phone_case_in_the_console(web: Servers) -> None:
    call = PhoneCall(web.settings.voice_base_url, DEV_TWILIO_TOKEN, caller="+4917612345678")
    call.start()
    call.press("2")
    answer = call.say("bir temsilciyle görüşmek istiyorum")
    assert answer.transfer is not None
    case_id = handoff_for(web.database_url, call.call_sid).case_id
    console = logged_in(web, JONAS)
    case = console.get(f"/agent/api/cases/{case_id}").json()
    assert case["channel"] == "voice" and case["caller"] == "+4917612345678"
    assert case["language"] == "tr" and case["live"] is False
    assert any(m["text"] == "bir temsilciyle görüşmek istiyorum" for m in case["transcript"])
    assert console.post(f"/agent/api/cases/{case_id}/claim").status_code == 200
    # The call itself went to the agent's phone: no chat replies, no bot to return to.
    assert (
        console.post(f"/agent/api/cases/{case_id}/messages", {"text": "hallo"}).status_code == 409
    )
    assert console.post(f"/agent/api/cases/{case_id}/release").status_code == 409
    refused = console.post(
        f"/agent/api/cases/{case_id}/close", {"disposition": "resolved", "note": ""}
    )
    assert refused.status_code == 422
    assert refused.json()["detail"].startswith("Bitte eine Notiz")  # shown to the agent as it is
    closed = console.post(
        f"/agent/api/cases/{case_id}/close",
        {"disposition": "callback", "note": "Rückruf wegen Zählerwechsel vereinbart"},
    )
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    row = handoff_for(web.database_url, call.call_sid)
    assert row.disposition == "callback" and row.note.startswith("Rückruf")


async def test_an_open_console_sees_rest_and_phone_cases_as_they_are_opened(
    web: Servers,
) -> None:
    """The bot opens these cases in the action server, not in the app: the console
    that is already open still hears of each, without reloading."""
    console = logged_in(web, AYLIN)
    live = await console.live()
    try:
        assert json.loads(await asyncio.wait_for(live.recv(), 10))["type"] == "queue"
        sender = "e2e-live-case-rest"
        async with httpx.AsyncClient(timeout=30) as rest:
            for text in ("Hallo", "Ich möchte mit einem Mitarbeiter sprechen"):
                said = await rest.post(web.webhook, json={"sender": sender, "message": text})
                said.raise_for_status()
        call = PhoneCall(web.settings.voice_base_url, DEV_TWILIO_TOKEN, caller="+4917612340000")
        call.start()
        call.press("2")
        call.say("bir temsilciyle görüşmek istiyorum")
        wanted = {
            handoff_for(web.database_url, sender).case_id: "rest",
            handoff_for(web.database_url, call.call_sid).case_id: "voice",
        }

        async def until_both_arrived() -> dict[str, str]:
            seen: dict[str, str] = {}
            while set(seen) != set(wanted):
                frame = json.loads(await live.recv())
                if frame["type"] == "case" and frame["case"]["case_id"] in wanted:
                    seen[frame["case"]["case_id"]] = frame["case"]["channel"]
            return seen

        assert await asyncio.wait_for(until_both_arrived(), 15) == wanted
    finally:
        await live.close()


async def test_prometheus_metrics(web: Servers) -> None:
    async with Widget(web.app_url) as widget:
        await widget.say("Ich möchte mit einem Mitarbeiter sprechen")
        async with httpx.AsyncClient(timeout=30) as client:
            metrics = await client.get(f"{web.app_url}/metrics")
        assert metrics.status_code == 200
        lines = metrics.text.splitlines()
        count = next(
            line for line in lines if line.startswith('stadtwerk_turn_seconds_count{channel="web"}')
        )
        assert float(count.split()[-1]) >= 1
        assert any(
            line.startswith('stadtwerk_handoffs_total{channel="web",reason="customer_request"}')
            for line in lines
        )
        live = next(
            line
            for line in lines
            if line.startswith('stadtwerk_active_conversations{channel="web"}')
        )
        assert float(live.split()[-1]) >= 1
        assert any(line.startswith("stadtwerk_fallbacks_total") for line in lines)
    # Nothing personal: no customer numbers, no message text.
    assert "10000" not in metrics.text and "Mitarbeiter" not in metrics.text


@pytest.mark.action_server
async def test_with_the_action_server_down_the_chat_still_reaches_a_person(web: Servers) -> None:
    """The bot cannot hand over without its action server; the app does it itself."""
    web.kill("actions")
    try:
        async with Widget(web.app_url) as widget:
            answer = await widget.say("Ich möchte mit einem Mitarbeiter sprechen")
            assert "technisches Problem" in answer[-1]["text"]
            (button,) = answer[-1]["buttons"]
            assert button == {
                "title": "Mit einem Mitarbeiter sprechen",
                "payload": "/request_human",
            }

            answer = await widget.say(button["title"], payload=button["payload"])
            assert "Vorgangsnummer" in answer[-1]["text"]
            state = next(f for f in widget.frames if f["type"] == "state")
            assert state["state"] == "waiting"
            chat = stored_chat(web, widget)
            case = handoff_for(web.database_url, chat.conversation_id)
            assert case is not None and case.case_id in answer[-1]["text"]
            assert (case.reason, case.channel, case.status) == ("technical_problem", "web", "open")
            assert (chat.state, chat.case_id) == ("waiting", case.case_id)
            # The agent sees the case, with the chat so far.
            console = logged_in(web)
            detail = console.get(f"/agent/api/cases/{case.case_id}").json()
            said = [m["text"] for m in detail["transcript"] if m["from"] == "customer"]
            assert said == [
                "Ich möchte mit einem Mitarbeiter sprechen",
                "Mit einem Mitarbeiter sprechen",
            ]
    finally:
        web.start_one("actions")
