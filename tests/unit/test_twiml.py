"""TwiML built for the phone channel, checked without a server."""

import xml.etree.ElementTree as ET

import pytest

from bot.infra.settings import Settings
from connectors.voice import twiml

SETTINGS = Settings(public_base_url="https://hotline.example.de/")


def parse(xml: str) -> ET.Element:
    return ET.fromstring(xml)


def test_question_listens_for_speech_and_keypad_in_the_callers_language():
    root = parse(twiml.ask(["Wie ist Ihre Postleitzahl?"], "de", SETTINGS, "https://x/y?turn=2"))
    gather = root.find("Gather")
    assert gather.get("input") == "dtmf speech" and gather.get("language") == "de-DE"
    assert gather.get("speechTimeout") == "auto" and gather.get("actionOnEmptyResult") == "true"
    assert gather.get("finishOnKey") == "#" and "Abschlag" in gather.get("hints")
    say = gather.find("Say")
    assert (say.get("voice"), say.get("language")) == ("Polly.Vicki-Neural", "de-DE")


def test_turkish_uses_a_turkish_voice():
    root = parse(twiml.ask(["Posta kodunuz nedir?"], "tr", SETTINGS, "https://x/y"))
    assert root.find("Gather").get("language") == "tr-TR"
    assert root.find("Gather/Say").get("voice") == "Polly.Filiz"


def test_identifiers_are_spoken_as_digits():
    root = parse(twiml.goodbye(["Ihre Vorgangsnummer ist H-AB12CD34."], "de", SETTINGS))
    assert root.find("Say/say-as").get("interpret-as") == "digits"
    assert root.find("Hangup") is not None


def test_action_urls_use_the_public_base_url():
    assert twiml.action_url(SETTINGS, step="turn", turn=3) == (
        "https://hotline.example.de/webhooks/voice/webhook?step=turn&turn=3"
    )


# Each kind of agent line and the verb that reaches it.
AGENT_LINES = [
    ({"voice_queue": "agents"}, "Enqueue"),
    ({"voice_transfer_sip": "sip:agents@pbx.example.de"}, "Dial/Sip"),
    ({"voice_transfer_number": "+4923112345"}, "Dial/Number"),
]


@pytest.mark.parametrize(("target", "verb"), AGENT_LINES)
def test_handoff_transfers_with_the_case(target, verb):
    settings = SETTINGS.replace(**target)
    root = parse(twiml.transfer(["Ich verbinde Sie."], "de", settings, "H-1A2B3C4D"))
    element = root.find(verb)
    assert element is not None
    if verb == "Dial/Sip":
        assert element.text.endswith("?X-Case-Id=H-1A2B3C4D")
    if verb == "Dial/Number":
        assert "case=H-1A2B3C4D" in element.get("url")


def test_handoff_without_an_agent_line_hangs_up():
    root = parse(twiml.transfer(["Wir rufen zurück."], "de", SETTINGS, "H-1"))
    assert root.find("Hangup") is not None and root.find("Dial") is None


APOLOGY = {"de": "Technisches Problem, ich verbinde.", "tr": "Teknik bir sorun, bağlıyorum."}


@pytest.mark.parametrize(("line", "verb"), AGENT_LINES)
def test_technical_problem_apologises_in_both_languages_and_passes_the_call_on(line, verb):
    settings = SETTINGS.replace(**line)
    assert twiml.has_agent_line(settings)
    root = parse(twiml.technical_problem(APOLOGY, settings))
    says = root.findall("Say")
    assert [say.get("language") for say in says] == ["de-DE", "tr-TR"]
    assert "".join(says[1].itertext()) == APOLOGY["tr"]
    assert root.find(verb) is not None and root.find("Hangup") is None
    if verb == "Dial/Number":  # no case: the agent is told so by the whisper
        assert "case=&" in root.find(verb).get("url")


def test_technical_problem_without_an_agent_line_says_goodbye():
    assert not twiml.has_agent_line(SETTINGS)
    root = parse(twiml.technical_problem({"de": APOLOGY["de"]}, SETTINGS))
    assert [say.get("language") for say in root.findall("Say")] == ["de-DE"]
    assert root.find("Hangup") is not None and root.find("Dial") is None


def test_the_phone_simulator_shows_a_pause_between_replies_as_a_space():
    from bot.ops.phone_sim import Answer

    xml = twiml.ask(
        ["Vielen Dank, Sie sind identifiziert.", "Ihre Rechnung R-2026 ist bezahlt."],
        "de",
        SETTINGS,
        "https://x/y",
    )
    assert parse(xml).find("Gather/Say/break") is not None  # the caller hears a pause
    spoken = Answer.parse(xml).spoken
    assert spoken.startswith("Vielen Dank, Sie sind identifiziert. Ihre Rechnung")
    assert "identifiziert.Ihre" not in spoken
