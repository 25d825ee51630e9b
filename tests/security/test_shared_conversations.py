"""Conversations shared across channels and sessions (issue 12, finding 2).

Before: the REST webhook accepted any sender, a web chat's id and a Twilio
CallSid included, and `verified_customer` carried over into every new
session, so an id from a log gave the bill over REST; and a web chat's
token opened its history forever, on whatever computer it was left.
"""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from sqlalchemy import select

from bot.domain.models import ChatSession, utcnow
from bot.domain.services.agents import token_hash
from bot.infra.db import session_scope
from bot.infra.settings import DEV_TWILIO_TOKEN
from bot.ops.phone_sim import PhoneCall
from tests.harness.servers import TOKEN, Servers
from tests.harness.web_clients import Widget
from tests.security.conftest import Attacker
from tests.security.test_commands_in_chat import conversation_of

BILL = "R-202"  # every demo bill number starts so


def rest(servers: Servers, sender: str, text: str) -> httpx.Response:
    return httpx.post(servers.webhook, json={"sender": sender, "message": text}, timeout=60)


def test_a_verified_calls_id_gets_nothing_over_rest(servers: Servers) -> None:
    call = PhoneCall(servers.settings.voice_base_url, DEV_TWILIO_TOKEN, caller="+4915100000077")
    call.start()
    call.press("1")
    call.say("Ich möchte meine Rechnung wissen")
    call.press("10000011")  # Käthe Groß
    call.press("45130")
    answer = call.press("05101940")
    assert "letzte Rechnung" in answer.spoken  # verified: the bill is read out
    stolen = rest(servers, call.call_sid, "Wie hoch ist meine Rechnung?")
    assert stolen.status_code == 400 and BILL not in stolen.text
    call.hang_up()


@pytest.mark.asyncio
async def test_a_web_chats_id_gets_nothing_over_rest(web: Servers) -> None:
    async with Widget(web.app_url) as widget:
        await widget.say("Meine Rechnung bitte")
        shown = await widget.texts("10000011 45130 05.10.1940")
        assert BILL in shown
        conversation = conversation_of(web, widget)
    stolen = rest(web, conversation, "Wie hoch ist meine Rechnung?")
    assert stolen.status_code == 400 and BILL not in stolen.text


def test_a_verification_does_not_carry_over_into_a_new_session(servers: Servers) -> None:
    customer = Attacker(servers)
    customer.say("Meine Rechnung bitte")
    assert BILL in customer.say("10000011 45130 05.10.1940")
    # The session expires (as after an hour of silence): Rasa starts a new one
    # and carries the slots over.
    events = f"{servers.api}/conversations/{customer.sender}/tracker/events"
    new_session = [
        {"event": "action", "name": "action_session_start"},
        {"event": "session_started"},
        {"event": "slot", "name": "verified_customer", "value": "10000011"},
        {"event": "action", "name": "action_listen"},
    ]
    assert httpx.post(events, json=new_session, params={"token": TOKEN}, timeout=30).is_success
    later = customer.say("Wie hoch ist meine Rechnung?")
    assert BILL not in later and "Kundennummer" in later
    assert not customer.slots().get("verified_customer")


@pytest.mark.asyncio
async def test_an_ended_chat_cannot_be_reopened_with_its_token(web: Servers) -> None:
    async with Widget(web.app_url) as widget:
        await widget.say("Meine Rechnung bitte")
        token = widget.token
        await widget.send(type="end")
        assert (await widget.next("ended"))["type"] == "ended"
    async with Widget(web.app_url, token=token) as again:
        assert again.session["history"] == [] and again.token != token


@pytest.mark.asyncio
async def test_an_idle_chat_expires(web: Servers) -> None:
    async with Widget(web.app_url) as widget:
        await widget.say("Meine Rechnung bitte")
        token = widget.token
    with session_scope(web.database_url) as session:
        chat = session.scalars(
            select(ChatSession).where(ChatSession.token_hash == token_hash(token or ""))
        ).one()
        chat.last_active_at = utcnow() - dt.timedelta(hours=web.settings.chat_idle_hours, minutes=1)
    async with Widget(web.app_url, token=token) as again:
        assert again.session["history"] == [] and again.token != token


def test_a_signed_request_replayed_after_the_call_is_refused(servers: Servers) -> None:
    call = PhoneCall(servers.settings.voice_base_url, DEV_TWILIO_TOKEN, caller="+4915100000078")
    call.start()
    call.press("1")
    asked = call.next_url
    call.say("Ich möchte meine Rechnung wissen")
    call.hang_up()
    # The same signed request again, as someone who recorded it would send it.
    call.next_url = asked
    with pytest.raises(httpx.HTTPStatusError) as refused:
        call.say("Ich möchte meine Rechnung wissen")
    assert refused.value.response.status_code == 410
