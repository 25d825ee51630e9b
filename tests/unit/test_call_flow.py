"""The phone call as pure decisions (connectors/voice/call_flow.py), without a server.

Each test gives the call's state, what the caller did and (for bot turns)
the bot's reply, and checks what the caller hears next, the call's new state,
and the TwiML Twilio would get.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest

from bot.domain.hotline import HotlineHours
from bot.domain.phone import callable_number
from bot.domain.responses import load_responses, response_text
from bot.infra.settings import DOMAIN_DIR, Settings
from bot.protocol import PERSON_PAYLOAD, BotReply, Button, Expects, Handoff, Message
from connectors.voice import call_flow, twiml
from connectors.voice.call_flow import (
    Ask,
    BotTurn,
    CallerInput,
    CallState,
    Goodbye,
    LanguageMenu,
    OneMoment,
    PassOn,
    Transfer,
)

SID = "CA" + "0" * 32
SETTINGS = Settings(public_base_url="https://hotline.example.de")
RESPONSES = load_responses(DOMAIN_DIR)
SUNDAY_NOON = dt.datetime(2026, 3, 1, 12, 0, tzinfo=ZoneInfo("Europe/Berlin"))
# People answer around the clock, a line takes transfers, the caller's number is known.
LINE = call_flow.PersonLine(
    connected=True,
    hours=HotlineHours.parse("Mo-So 00:00-24:00"),
    now=SUNDAY_NOON,
    caller="+4915100000000",
)


def texts(name: str, language: str) -> str:
    """Stand-in domain texts: the response name and language, easy to assert on."""
    return f"{name}@{language}" + (" {utility}" if name == "utter_voice_welcome" else "")


def request(step: str = "turn", turn: int = 3, speech: str = "", digits: str = ""):
    return CallerInput(step=step, turn=turn, speech=speech, digits=digits)


def decide(call: CallState, caller: CallerInput) -> call_flow.Step:
    return call_flow.on_request(call, caller, texts, "Stadtwerke Rheinruhr")


# --- the opening and the language -----------------------------------------------------


def test_a_call_opens_with_the_menu_in_both_languages():
    step = decide(CallState(SID), request("start", 0))
    assert step.decision == LanguageMenu(
        {
            "de": "utter_voice_welcome@de Stadtwerke Rheinruhr",
            "tr": "utter_voice_welcome@tr Stadtwerke Rheinruhr",
        },
        1,
    )
    root = ET.fromstring(twiml.render(step.decision, SETTINGS))
    assert root.find("Gather").get("action").endswith("step=language&turn=1")
    assert [say.get("language") for say in root.iter("Say")] == ["de-DE", "tr-TR"]


@pytest.mark.parametrize(
    ("digits", "speech", "language"),
    [("1", "", "de"), ("2", "", "tr"), ("", "Türkçe lütfen", "tr"), ("", "auf Deutsch", "de")],
)
def test_the_caller_chooses_a_language(digits, speech, language):
    step = decide(CallState(SID, silences=1), request("language", 1, speech, digits))
    assert step.decision == Ask((f"utter_voice_how_can_i_help@{language}",), language, 2)
    assert (step.state.language, step.state.silences) == (language, 0)
    assert step.changed == {"language", "silences"}


def test_a_caller_who_just_talks_is_understood_in_their_language():
    step = decide(CallState(SID), request("language", 1, "Faturam neden bu kadar yüksek?"))
    assert step.decision == BotTurn("Faturam neden bu kadar yüksek?", "tr")
    assert step.state.language == "tr"


# --- silence --------------------------------------------------------------------------


def test_silence_asks_again_then_offers_a_person_then_ends_the_call():
    call = CallState(SID, language="tr", expects=Expects("date"))
    first = decide(call, request())
    assert first.decision == Ask(("utter_voice_still_there@tr",), "tr", 4, Expects("date"))
    second = decide(first.state, request(turn=4))
    assert second.decision == Ask(("utter_voice_offer_person@tr",), "tr", 5, Expects("date"))
    third = decide(second.state, request(turn=5))
    assert third.decision == Goodbye(("utter_voice_no_input_goodbye@tr",), "tr")
    assert third.state.silences == 3 and third.changed == {"silences"}
    assert ET.fromstring(twiml.render(third.decision, SETTINGS)).find("Hangup") is not None


def test_silence_before_a_language_was_chosen_repeats_the_menu():
    step = decide(CallState(SID), request("language", 1))
    assert isinstance(step.decision, LanguageMenu) and step.decision.turn == 2
    assert step.state.silences == 1


# --- keypad ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("digits", "expects", "choices", "text"),
    [
        ("0", Expects("amount"), (), PERSON_PAYLOAD),  # a person, whatever was asked
        ("2", None, (("Strom", "/inform{1}"), ("Gas", "/inform{2}")), "/inform{2}"),
        ("3", None, (("Strom", "/inform{1}"), ("Gas", "/inform{2}")), "3"),  # no such choice
        ("12031975", Expects("date"), (), "12.03.1975"),
        ("31021975", Expects("date"), (), "31021975"),  # no such day: the bot explains
        ("85*50", Expects("amount"), (), "85,50 €"),
        ("80", Expects("amount"), (), "80 €"),
        ("10000002", Expects("digits", 8), (), "10000002"),
        ("44*137", Expects("digits", 5), (), "44137"),
        ("8120*5", Expects("digits"), (), "8120,5"),  # a meter reading with its decimal
        ("47350", Expects("digits"), (), "47350"),
        ("12031975", None, (), "12031975"),  # no question about a date: just digits
    ],
)
def test_keypad_digits_mean_what_the_question_expects(digits, expects, choices, text):
    call = CallState(SID, language="de", choices=choices, expects=expects)
    assert call_flow.keypad_text(digits, call) == text
    step = decide(call, request(digits=digits))
    assert step.decision == BotTurn(text, "de")


def test_speech_is_passed_on_as_it_was_recognised():
    call = CallState(SID, language="de", expects=Expects("digits", 5))
    step = decide(call, request(speech="vier vier eins drei sieben"))
    assert step.decision == BotTurn("vier vier eins drei sieben", "de")


# --- the bot's reply ------------------------------------------------------------------


def reply(*texts_: str, **fields) -> BotReply:
    return BotReply(messages=[Message(text) for text in texts_], **fields)


def test_a_question_is_asked_with_speech_hints_for_what_it_expects():
    call = CallState(SID, language="de", silences=1)
    answer = reply(
        "Danke.", "Wie lautet Ihre Postleitzahl?", expects=Expects("digits", 5), language="de"
    )
    step = call_flow.on_reply(call, request(), answer, "de", texts, LINE)
    assert step.decision == Ask(
        ("Danke.", "Wie lautet Ihre Postleitzahl?"), "de", 4, Expects("digits", 5)
    )
    assert step.state.expects == Expects("digits", 5) and step.state.silences == 0
    gather = ET.fromstring(twiml.render(step.decision, SETTINGS)).find("Gather")
    assert gather.get("hints") == twiml.HINTS_FOR["digits"]["de"]
    assert gather.get("action").endswith("step=turn&turn=4")


def test_buttons_become_a_keypad_menu_and_are_remembered():
    answer = BotReply(
        messages=[Message("Welcher Vertrag?", (Button("Strom", "/a"), Button("Gas", "/b")))],
        expects=Expects("choice"),
        language="de",
    )
    step = call_flow.on_reply(CallState(SID, language="de"), request(), answer, "de", texts, LINE)
    assert isinstance(step.decision, Ask)
    assert step.decision.texts[-1].startswith("Drücken Sie die 1 für Strom; die 2 für Gas")
    assert step.state.choices == (("Strom", "/a"), ("Gas", "/b"))


def test_a_switch_of_language_is_followed_by_the_voice():
    answer = reply("Tabii, Türkçe devam ediyoruz.", language="tr")
    step = call_flow.on_reply(CallState(SID, language="de"), request(), answer, "de", texts, LINE)
    assert step.decision.language == "tr" and step.state.language == "tr"
    say = ET.fromstring(twiml.render(step.decision, SETTINGS)).find("Gather/Say")
    assert say.get("voice") == SETTINGS.voice_name_tr


def test_a_handoff_transfers_while_people_answer_and_a_line_takes_calls():
    open_ = reply("Ich verbinde Sie.", handoff=Handoff("H-1A2B3C4D", "customer_request", "de"))
    step = call_flow.on_reply(CallState(SID, language="de"), request(), open_, "de", texts, LINE)
    assert step.decision == Transfer(("Ich verbinde Sie.",), "de", "H-1A2B3C4D")


def domain_texts(name: str, language: str) -> str:
    return response_text(RESPONSES, name, language)


def handed_off(language: str, line: call_flow.PersonLine, available: bool = True) -> Goodbye:
    """What the caller hears after the bot's handoff (its last line promised a person)."""
    said = {"de": ("Das kann ich nicht prüfen.", "Ich verbinde Sie."), "tr": ("Bağlıyorum.",)}
    answer = reply(
        *said[language],
        handoff=Handoff("H-1A2B3C4D", "customer_request", language, agents_available=available),
        language=language,
    )
    step = call_flow.on_reply(
        CallState(SID, language=language), request(), answer, language, domain_texts, line
    )
    assert isinstance(step.decision, Goodbye)
    root = ET.fromstring(twiml.render(step.decision, SETTINGS))
    assert [child.tag for child in root] == ["Say", "Hangup"]  # what Twilio accepts
    return step.decision


def test_without_an_agent_line_the_caller_hears_the_case_and_the_call_back():
    line = replace(LINE, connected=False)
    german = handed_off("de", line)
    assert german.texts[0] == "Das kann ich nicht prüfen."
    assert "Ich verbinde Sie." not in german.texts  # the promise the phone cannot keep
    callback = german.texts[-1]
    assert "nicht direkt verbinden" in callback and "H-1A2B3C4D" in callback
    assert "ruft Sie unter dieser Nummer zurück" in callback
    assert "täglich rund um die Uhr" in callback and callback.endswith("Auf Wiederhören!")
    turkish = handed_off("tr", line)
    assert turkish.texts == (
        domain_texts("utter_voice_callback", "tr").format(
            case_id="H-1A2B3C4D", hours="her gün 24 saat"
        ),
    )
    assert "geri arayacak" in turkish.texts[0] and turkish.texts[0].endswith("Hoşça kalın!")


def test_outside_the_hotline_hours_the_call_back_says_when():
    weekdays = replace(LINE, hours=HotlineHours.parse("Mo-Sa 08:00-20:00"), now=SUNDAY_NOON)
    german = handed_off("de", weekdays, available=False).texts[-1]
    assert "nicht besetzt" in german and "Ab Montag, 08:00 Uhr ruft Sie" in german
    turkish = handed_off("tr", weekdays, available=False).texts[-1]
    assert "Pazartesi, 08:00 itibarıyla" in turkish


def test_a_caller_who_withheld_their_number_is_told_when_to_call_again():
    withheld = replace(
        LINE, connected=False, hours=HotlineHours.parse("Mo-Sa 08:00-20:00"), caller=None
    )
    german = handed_off("de", withheld).texts[-1]
    assert "Rufnummer wurde nicht übertragen" in german and "H-1A2B3C4D" in german
    assert "Montag bis Samstag von 8 bis 20 Uhr" in german
    turkish = handed_off("tr", withheld).texts[-1]
    assert "Pazartesiden Cumartesiye saat 8 ile 20 arası" in turkish


@pytest.mark.parametrize(
    ("raw", "number"),
    [
        ("+4915100000000", "+4915100000000"),
        ("anonymous", None),
        ("Anonymous", None),
        ("+266696687", None),
        ("", None),
        (None, None),
        ("client:alice", None),
    ],
)
def test_only_a_real_number_is_called_back(raw, number):
    assert callable_number(raw) == number


def test_goodbye_ends_the_call():
    answer = reply("Auf Wiederhören!", end_of_conversation=True, language="de")
    step = call_flow.on_reply(CallState(SID, language="de"), request(), answer, "de", texts, LINE)
    assert step.decision == Goodbye(("Auf Wiederhören!",), "de")


def test_a_failed_action_server_passes_the_call_on():
    answer = reply("Technisches Problem.", technical_problem=True, language="de")
    step = call_flow.on_reply(CallState(SID, language="de"), request(), answer, "de", texts, LINE)
    assert step.decision == PassOn("de")
    apology = call_flow.technical_problem(None, texts, person_now=True, case_id="H-1")
    assert apology.lines == {
        "de": "utter_voice_technical_transfer@de",
        "tr": "utter_voice_technical_transfer@tr",
    }
    goodbye = call_flow.technical_problem("tr", texts, person_now=False)
    assert goodbye.lines == {"tr": "utter_voice_technical_goodbye@tr"}
    # a configured line outside the hotline hours: nobody would answer, so no transfer
    root = ET.fromstring(twiml.render(goodbye, SETTINGS.replace(voice_queue="agents")))
    assert [child.tag for child in root] == ["Say", "Hangup"]


def test_a_slow_bot_keeps_the_line_alive():
    step = call_flow.slow_reply(CallState(SID, language="tr"), request(), "tr", texts)
    assert step.decision == OneMoment(("utter_voice_one_moment@tr",), "tr", 4)
    root = ET.fromstring(twiml.render(step.decision, SETTINGS))
    assert root.find("Redirect").text.endswith("step=pending&turn=4")


def test_twilios_parameters_are_cleaned():
    caller = CallerInput.from_twilio(
        "turn", "7", {"SpeechResult": "  hallo\x00  welt ", "Digits": "12#ab*3"}
    )
    assert caller == CallerInput("turn", 7, "hallo welt", "12*3")
    assert CallerInput.from_twilio("turn", "x", {}).turn == 0
