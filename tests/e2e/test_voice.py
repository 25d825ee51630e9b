"""Whole phone calls through the voice webhook, as Twilio would make them."""

from __future__ import annotations

import contextlib
import re
import signal
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from bot.domain.models import PhoneCall as PhoneCallRow
from bot.infra.db import session_scope
from bot.infra.settings import DEV_TWILIO_TOKEN
from bot.ops.phone_sim import Answer, PhoneCall
from connectors.voice.slow_turns import REPLY_BUDGET_SECONDS
from tests.e2e.conftest import changes_for, handoff_for, row_counts
from tests.harness.servers import Servers

# What Twilio accepts from us, verb by verb (a subset of TwiML we use).
ALLOWED = {
    "Response": set(),
    "Gather": {
        "input",
        "action",
        "method",
        "language",
        "hints",
        "speechModel",
        "speechTimeout",
        "timeout",
        "finishOnKey",
        "actionOnEmptyResult",
    },
    "Say": {"voice", "language"},
    "say-as": {"interpret-as"},
    "break": {"time"},
    "Redirect": {"method"},
    "Hangup": set(),
    "Dial": {"timeout"},
    "Number": {"url"},
    "Sip": set(),
    "Enqueue": set(),
}
UNSPEAKABLE = re.compile(r"[€*_#`<>|\[\]]|https?:|www\.|[\U0001F300-\U0001FAFF\u2600-\u27BF]")


def check_twiml(answer: Answer) -> None:
    """Only verbs and attributes Twilio knows; a language on every Gather and Say."""
    assert answer.root.tag == "Response"
    for element in answer.root.iter():
        assert element.tag in ALLOWED, element.tag
        assert set(element.attrib) <= ALLOWED[element.tag], (element.tag, element.attrib)
        if element.tag in ("Gather", "Say"):
            assert element.get("language") in ("de-DE", "tr-TR")
        if element.tag == "Say":
            assert element.get("voice", "").startswith("Polly.")
            spoken = "".join(element.itertext())
            assert spoken.strip() and not UNSPEAKABLE.search(spoken), spoken
    assert ET.tostring(answer.root)  # well-formed


class CheckedCall(PhoneCall):
    """A call whose every answer is checked like Twilio would parse it."""

    def _follow(self, url: str, params: dict[str, str]) -> Answer:
        answer = super()._follow(url, params)
        check_twiml(answer)
        return answer


def new_call(servers: Servers, caller: str = "+4915100000000") -> CheckedCall:
    return CheckedCall(servers.settings.voice_base_url, DEV_TWILIO_TOKEN, caller=caller)


def call_row(servers: Servers, call_sid: str) -> PhoneCallRow | None:
    with session_scope(servers.database_url) as session:
        row = session.scalars(select(PhoneCallRow).where(PhoneCallRow.call_sid == call_sid)).first()
        if row is not None:
            session.expunge(row)
        return row


def test_signature_is_required(servers: Servers) -> None:
    call = new_call(servers)
    url = f"{servers.settings.voice_base_url}/webhooks/voice/webhook"
    params = call._params()
    counts = row_counts(servers.database_url)
    good = call._post(url, params)
    assert good.status_code == 200
    counts_after_good = row_counts(servers.database_url)
    forged = [
        {"X-Twilio-Signature": "AAAAAAAAAAAAAAAAAAAAAAAAAAA="},
        {},
    ]
    for headers in forged:
        reply = httpx.post(url, data=params, headers=headers, timeout=30)
        assert reply.status_code == 403
    # Signed for another URL (a request replayed from elsewhere).
    wrong_url = RequestValidator(DEV_TWILIO_TOKEN).compute_signature(
        "https://evil.example/webhooks/voice/webhook", params
    )
    reply = httpx.post(url, data=params, headers={"X-Twilio-Signature": wrong_url}, timeout=30)
    assert reply.status_code == 403
    # Signed with another account's token.
    wrong_token = RequestValidator("not-our-token").compute_signature(url, params)
    reply = httpx.post(url, data=params, headers={"X-Twilio-Signature": wrong_token}, timeout=30)
    assert reply.status_code == 403
    # Tampered parameters after signing.
    signed = RequestValidator(DEV_TWILIO_TOKEN).compute_signature(url, params)
    tampered = {**params, "Digits": "10000002"}
    reply = httpx.post(url, data=tampered, headers={"X-Twilio-Signature": signed}, timeout=30)
    assert reply.status_code == 403
    assert row_counts(servers.database_url) == counts_after_good
    assert counts_after_good["phone_calls"] == counts["phone_calls"] + 1


def test_german_call_identity_by_keypad_bill_and_advance_payment(servers: Servers) -> None:
    # Bärbel Schröder calls from her registered number: no customer number asked.
    call = new_call(servers, caller="+492348965006")
    menu = call.start()
    assert "Deutsch" in menu.spoken and "Türkçe" in menu.spoken
    answer = call.press("1")
    assert answer.listens_in == "de-DE"
    answer = call.say("Ich möchte meinen Abschlag ändern")
    assert "Postleitzahl" in answer.spoken
    answer = call.press("44787#")
    assert "Geburtsdatum" in answer.spoken
    answer = call.press("08081953#")
    # Three contracts: a keypad menu, contract numbers read digit by digit.
    assert "die 1 für Strom" in answer.spoken and "die 2 für Gas" in answer.spoken
    assert "3 0 0 0 0 0 1 0" in answer.spoken
    answer = call.press("2")
    assert "131 Euro" in answer.spoken
    answer = call.press("140*50#")
    assert "140 Euro und 50 Cent" in answer.spoken and "richtig" in answer.spoken
    answer = call.say("ja")
    assert "Erledigt" in answer.spoken
    changes = changes_for(servers.database_url, "30000010")
    assert changes and changes[-1].new_amount == Decimal("140.50")
    assert changes[-1].channel == "voice" and changes[-1].conversation_id == call.call_sid
    answer = call.say("Das war's, tschüss")
    assert answer.hung_up and "Anruf" in answer.spoken
    assert call.hang_up(duration=95).status_code == 204
    row = call_row(servers, call.call_sid)
    assert row is not None and row.status == "completed" and row.duration_seconds == 95


def test_turkish_call_bill_and_handoff(servers: Servers) -> None:
    call = new_call(servers)
    call.start()
    answer = call.press("2")
    assert answer.listens_in == "tr-TR"
    answer = call.say("faturam hakkında bilgi almak istiyorum")
    assert "müşteri numaranız" in answer.spoken
    answer = call.press("10000001#")
    answer = call.press("47051#")
    answer = call.press("12041980#")
    assert "1043 avro 27 sent" in answer.spoken and "Şubat" in answer.spoken
    answer = call.say("bir temsilciyle görüşmek istiyorum")
    case = handoff_for(servers.database_url, call.call_sid)
    assert case is not None and case.language == "tr" and case.channel == "voice"
    # The test servers' hotline is always staffed: the call goes to the queue.
    assert answer.transfer is not None and answer.transfer.tag == "Enqueue"
    assert answer.transfer.text == "stadtwerk-agents"
    assert "çalışan" in answer.spoken


def test_caller_who_just_talks_turkish_is_understood(servers: Servers) -> None:
    call = new_call(servers)
    call.start()
    answer = call.say("merhaba faturamı sormak istiyorum")
    assert answer.listens_in == "tr-TR"
    assert "müşteri numaranız" in answer.spoken


def test_silence_reprompts_twice_then_hangs_up(servers: Servers) -> None:
    call = new_call(servers)
    call.start()
    call.press("1")
    first = call.silence()
    assert "noch da" in first.spoken and not first.ended
    second = call.silence()
    assert "0" in second.spoken and not second.ended
    last = call.silence()
    assert last.hung_up


def test_switching_language_mid_call(servers: Servers) -> None:
    call = new_call(servers)
    call.start()
    call.press("1")
    answer = call.say("Können wir bitte Türkisch sprechen")
    assert answer.listens_in == "tr-TR"


def test_resent_request_runs_the_turn_once(servers: Servers) -> None:
    call = new_call(servers)
    call.start()
    call.press("1")
    url = call.next_url
    assert url
    params = call._params(SpeechResult="Ich habe eine Frage zu meiner Rechnung")
    first = call._post(url, params)
    second = call._post(url, params)
    assert first.status_code == second.status_code == 200
    assert first.text == second.text
    tracker = httpx.get(
        f"{servers.api}/conversations/{call.call_sid}/tracker",
        params={"token": "e2e-test-token"},
        timeout=30,
    ).json()
    said = [e["text"] for e in tracker["events"] if e["event"] == "user"]
    assert said.count("Ich habe eine Frage zu meiner Rechnung") == 1


@pytest.mark.parametrize("status", ["busy", "no-answer", "failed"])
def test_status_callback_closes_the_call(servers: Servers, status: str) -> None:
    call = new_call(servers)
    call.start()
    assert call.hang_up(status=status, duration=0).status_code == 204
    row = call_row(servers, call.call_sid)
    assert row is not None and row.status == status and row.ended_at is not None


BILL_QUESTION = "Ich habe eine Frage zu meiner Rechnung"


def german_call(servers: Servers) -> CheckedCall:
    """A call that has chosen German and is listening."""
    call = new_call(servers)
    call.start()
    call.press("1")
    assert call.next_url
    return call


@contextlib.contextmanager
def stalled(servers: Servers) -> Iterator[None]:
    """The action server stops (SIGSTOP) while the block runs, then goes on."""
    actions = servers.processes["actions"]
    actions.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        actions.send_signal(signal.SIGCONT)


@pytest.mark.action_server
def test_slow_turn_keeps_the_line_alive(servers: Servers) -> None:
    """A stuck action server: "one moment" within Twilio's 15 s, then the answer."""
    call = german_call(servers)
    with stalled(servers):
        reply = call._post(call.next_url, call._params(SpeechResult=BILL_QUESTION))
    assert reply.status_code == 200
    assert REPLY_BUDGET_SECONDS <= reply.elapsed.total_seconds() < 15
    waiting = Answer.parse(reply.text)
    check_twiml(waiting)
    assert "Moment" in waiting.spoken and waiting.root.find("Redirect") is not None
    assert waiting.next_url and "step=pending" in waiting.next_url
    # Twilio follows the redirect and gets the turn's real answer.
    answer = call._follow(waiting.next_url, call._params())
    assert "Kundennummer" in answer.spoken and answer.listens_in == "de-DE"
    # The turn ran once, and the call goes on from there.
    answer = call.press("10000005#")
    assert "Postleitzahl" in answer.spoken


@pytest.mark.action_server
def test_a_turn_that_never_comes_back_passes_the_caller_to_a_person(servers: Servers) -> None:
    """The action server stays stuck: after "one moment" the caller is not left hanging."""
    call = german_call(servers)
    with stalled(servers):
        reply = call._post(call.next_url, call._params(SpeechResult=BILL_QUESTION))
        waiting = Answer.parse(reply.text)
        assert "Moment" in waiting.spoken and waiting.next_url
        answer = call._follow(waiting.next_url, call._params())
    check_twiml(answer)
    assert answer.transfer is not None and answer.transfer.tag == "Enqueue"
    # In the call's language only, and without promising what the phone cannot do.
    assert "technisches Problem" in answer.spoken and "verbinde" in answer.spoken
    assert "teknik" not in answer.spoken and "sagen Sie" not in answer.spoken
    case = handoff_for(servers.database_url, call.call_sid)
    assert case is not None and (case.reason, case.channel) == ("technical_problem", "voice")


@pytest.mark.action_server
def test_with_the_action_server_down_a_caller_is_passed_to_a_person(servers: Servers) -> None:
    call = new_call(servers)
    call.start()
    call.press("2")  # Türkçe
    servers.kill("actions")
    try:
        answer = call.say("Faturamla ilgili bir sorum var")
    finally:
        servers.start_one("actions")
    check_twiml(answer)
    assert answer.transfer is not None and answer.transfer.tag == "Enqueue"
    assert "teknik bir sorun" in answer.spoken and "bağlıyorum" in answer.spoken
    case = handoff_for(servers.database_url, call.call_sid)
    assert case is not None and (case.reason, case.channel, case.language) == (
        "technical_problem",
        "voice",
        "tr",
    )
    # The agent reads what the caller said.
    said = [line["text"] for line in case.transcript if line["from"] == "customer"]
    assert said == ["Faturamla ilgili bir sorum var"]


def test_whisper_without_a_case_tells_the_agent(servers: Servers) -> None:
    call = new_call(servers)
    url = f"{servers.settings.voice_base_url}/webhooks/voice/whisper?case=&language=de"
    reply = call._post(url, call._params())
    assert reply.status_code == 200
    answer = Answer.parse(reply.text)
    check_twiml(answer)
    assert "technischen Störung" in answer.spoken and "keinen Vorgang" in answer.spoken


def test_blank_parameters_are_part_of_the_signature(servers: Servers) -> None:
    """Twilio signs every parameter it posts, empty ones (Digits=) included."""
    call = new_call(servers)
    call.start()
    url = f"{servers.settings.voice_base_url}/webhooks/voice/webhook?step=language&turn=1"
    params = call._params(Digits="", SpeechResult="")
    reply = call._post(url, params)
    assert reply.status_code == 200 and "<Gather" in reply.text
