"""The phone tells callers what really happens, and forgets calls that are over.

Real Rasa and action servers whose phone line has no agent line configured
(no queue, SIP address or number): a caller who asks for a person was told
"I am connecting you" and hung up on; now they hear their case number and
when a person calls back (or, with their number withheld, when to call
again), then a polite goodbye. Slow turns of calls that hung up are
cancelled: no answer of theirs is kept after the call ended.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.domain.models import PhoneTurn
from bot.infra.db import session_scope
from bot.infra.settings import DEV_TWILIO_TOKEN
from bot.ops.phone_sim import Answer, PhoneCall
from tests.e2e.conftest import handoff_for
from tests.e2e.test_voice import check_twiml
from tests.harness.servers import MODEL, Servers, demo_database

BILL_QUESTION = "Ich habe eine Frage zu meiner Rechnung"


@pytest.fixture(scope="module")
def no_agent_line(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """Rasa and the action server with nobody to transfer calls to (people answer, though)."""
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make setup` first")
    work: Path = tmp_path_factory.mktemp("no-line")
    # a stuck action server makes the slow turns (SIGSTOP)
    running = Servers(
        database_url=demo_database(work / "stadtwerk.db"), log_dir=work, actions="server"
    )
    running.settings = running.settings.replace(
        voice_queue="", voice_transfer_sip="", voice_transfer_number=""
    )
    running.start()
    yield running
    running.stop()


def call(servers: Servers, language_key: str, caller: str = "+4915100000000") -> PhoneCall:
    phone = PhoneCall(servers.settings.voice_base_url, DEV_TWILIO_TOKEN, caller=caller)
    phone.start()
    phone.press(language_key)
    assert phone.next_url
    return phone


def spoken_case(servers: Servers, phone: PhoneCall) -> str:
    """The call's case number as the voice reads it (character by character)."""
    case = handoff_for(servers.database_url, phone.call_sid)
    assert case is not None and case.channel == "voice"
    return " ".join(case.case_id.replace("-", ""))


def ends_politely(answer: Answer) -> None:
    check_twiml(answer)
    assert answer.transfer is None and answer.hung_up
    assert [child.tag for child in answer.root] == ["Say", "Hangup"]


def test_a_caller_asking_for_a_person_hears_the_case_and_the_call_back(
    no_agent_line: Servers,
) -> None:
    german = call(no_agent_line, "1")
    answer = german.say("Ich möchte mit einem Mitarbeiter sprechen")
    ends_politely(answer)
    assert "Ich verbinde Sie" not in answer.spoken  # the promise nobody could keep
    assert "nicht direkt verbinden" in answer.spoken
    assert spoken_case(no_agent_line, german) in answer.spoken
    assert "ruft Sie unter dieser Nummer zurück" in answer.spoken
    assert "täglich rund um die Uhr" in answer.spoken  # the test's hotline hours
    assert answer.spoken.endswith("Auf Wiederhören!")

    turkish = call(no_agent_line, "2")
    answer = turkish.say("bir temsilciyle görüşmek istiyorum")
    ends_politely(answer)
    assert "bağlıyorum" not in answer.spoken and "bağlayamıyorum" in answer.spoken
    assert spoken_case(no_agent_line, turkish) in answer.spoken
    assert "geri arayacak" in answer.spoken and answer.spoken.endswith("Hoşça kalın!")


def test_a_caller_with_a_withheld_number_is_told_how_to_reach_a_person(
    no_agent_line: Servers,
) -> None:
    phone = call(no_agent_line, "1", caller="anonymous")
    answer = phone.press("0")  # the keypad's way to a person
    ends_politely(answer)
    assert "Ihre Rufnummer wurde nicht übertragen" in answer.spoken
    assert spoken_case(no_agent_line, phone) in answer.spoken
    assert "mit sichtbarer Rufnummer wieder an" in answer.spoken


def _parked_then_hung_up(servers: Servers) -> str:
    """A call whose turn is slow ("one moment"), then the caller hangs up."""
    phone = call(servers, "1")
    reply = phone._post(phone.next_url, phone._params(SpeechResult=BILL_QUESTION))
    waiting = Answer.parse(reply.text)
    assert "Moment" in waiting.spoken and "step=pending" in (waiting.next_url or "")
    assert phone.hang_up().status_code == 204  # Twilio's status callback: completed
    return phone.call_sid


def test_slow_turns_of_calls_that_hung_up_leave_nothing_behind(no_agent_line: Servers) -> None:
    """Ten callers hang up while their turn waits for a stuck action server; when it
    answers, none of those turns runs on or stores its answer for a call that is over."""
    actions = no_agent_line.processes["actions"]
    actions.send_signal(signal.SIGSTOP)
    try:
        with ThreadPoolExecutor(10) as pool:
            calls = list(pool.map(lambda _: _parked_then_hung_up(no_agent_line), range(10)))
    finally:
        actions.send_signal(signal.SIGCONT)
    time.sleep(8)  # the stuck turns would have ended by now
    with session_scope(no_agent_line.database_url) as session:
        kept = session.scalars(select(PhoneTurn.turn).where(PhoneTurn.call_sid.in_(calls))).all()
    assert kept == []
    # The line works as before for the next caller.
    answer = call(no_agent_line, "1").say(BILL_QUESTION)
    assert "Kundennummer" in answer.spoken
