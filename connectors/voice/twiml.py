"""TwiML for the phone channel: pure functions from the call flow's decisions to Twilio XML.

Everything Twilio hears from us is built here: the spoken replies (`<Say>`
with a voice and language per language, SSML for digits and pauses), the
next question (`<Gather>` for speech and keypad, in the caller's language,
with speech hints for what the question expects), transfers (`<Dial>` /
`<Enqueue>`) and the end of a call (`<Hangup/>`). Tests call these
functions without a server.
"""

from __future__ import annotations

from urllib.parse import urlencode

from twilio.twiml.voice_response import Dial, Enqueue, Gather, Say, VoiceResponse

from bot.infra.settings import Settings
from bot.protocol import Expects
from connectors.voice.call_flow import (
    Ask,
    Decision,
    EmergencyLine,
    Goodbye,
    LanguageMenu,
    OneMoment,
    TechnicalProblem,
    Transfer,
)
from connectors.voice.speech import Part, speakable

SPEECH_LANGUAGES = {"de": "de-DE", "tr": "tr-TR"}
# Words the recogniser should expect on a utility's hotline.
HINTS = {
    "de": "Abschlag, Rechnung, Kundennummer, Postleitzahl, Vertrag, Strom, Gas, Wasser, "
    "Fernwärme, Zählerstand, Mitarbeiter, Nachzahlung, Guthaben, ja, nein, Euro",
    "tr": "Abschlag, Rechnung, fatura, müşteri numarası, posta kodu, sözleşme, elektrik, "
    "doğalgaz, su, temsilci, evet, hayır, avro, Türkçe, Almanca",
}
# ... and what they say to a question that expects one kind of answer.
HINTS_FOR = {
    "digits": {
        "de": "null, eins, zwei, drei, vier, fünf, sechs, sieben, acht, neun, zehn, hundert, "
        "tausend, Komma, Kundennummer, Postleitzahl, Zählerstand, Kilowattstunden, Kubikmeter",
        "tr": "sıfır, bir, iki, üç, dört, beş, altı, yedi, sekiz, dokuz, on, yüz, bin, virgül, "
        "müşteri numarası, posta kodu, sayaç, kilovatsaat, metreküp",
    },
    "date": {
        "de": "Januar, Februar, März, April, Mai, Juni, Juli, August, September, Oktober, "
        "November, Dezember, neunzehnhundert, zweitausend",
        "tr": "Ocak, Şubat, Mart, Nisan, Mayıs, Haziran, Temmuz, Ağustos, Eylül, Ekim, Kasım, "
        "Aralık, bin dokuz yüz, iki bin",
    },
    "amount": {
        "de": "Euro, Cent, zehn, zwanzig, fünfzig, hundert, erhöhen, senken",
        "tr": "avro, euro, sent, on, yirmi, elli, yüz, artır, düşür",
    },
    "yes_no": {
        "de": "ja, nein, richtig, genau, stimmt, falsch, abbrechen",
        "tr": "evet, hayır, doğru, tamam, yanlış, vazgeç",
    },
}
# Seconds of silence before a question counts as unanswered, and the
# recogniser's end-of-speech detection ("auto" answers as soon as the caller
# stops, instead of Rasa's stock five seconds of dead air).
GATHER_TIMEOUT = 4
SPEECH_TIMEOUT = "auto"
SPEECH_MODEL = "phone_call"
PAUSE = "300ms"


def voice_of(settings: Settings, language: str) -> str:
    return settings.voice_name_tr if language == "tr" else settings.voice_name_de


def say(texts: list[str], language: str, settings: Settings) -> Say:
    """One `<Say>` for several replies, with pauses between them."""
    element = Say(voice=voice_of(settings, language), language=SPEECH_LANGUAGES[language])
    for number, text in enumerate(texts):
        if number:
            element.break_(time=PAUSE)
        for part in speakable(text, language):
            _append(element, part)
    return element


def _append(element: Say, part: Part) -> None:
    if part.kind == "digits":
        element.say_as(" ".join(part.value), interpret_as="digits")
    else:
        element.append(part.value)


def action_url(settings: Settings, **params: str | int) -> str:
    """Absolute webhook URL (Twilio signs and calls exactly this)."""
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{settings.voice_base_url}/webhooks/voice/webhook" + (f"?{query}" if query else "")


def hints_for(language: str, expects: Expects | None) -> str:
    """The speech hints for a question: what it expects, else the hotline's words."""
    kind = expects.kind if expects else None
    return HINTS_FOR.get(kind, HINTS)[language]


def gather(language: str, url: str, hints: str | None = None) -> Gather:
    return Gather(
        input="dtmf speech",
        action=url,
        method="POST",
        language=SPEECH_LANGUAGES[language],
        hints=hints or HINTS[language],
        speech_model=SPEECH_MODEL,
        speech_timeout=SPEECH_TIMEOUT,
        timeout=GATHER_TIMEOUT,
        finish_on_key="#",
        action_on_empty_result=True,
    )


def ask(
    texts: list[str], language: str, settings: Settings, url: str, expects: Expects | None = None
) -> str:
    """Say `texts` while listening for the caller's answer."""
    response = VoiceResponse()
    listening = gather(language, url, hints_for(language, expects))
    if texts:
        listening.append(say(texts, language, settings))
    response.append(listening)
    return response.to_xml()


def goodbye(texts: list[str], language: str, settings: Settings) -> str:
    response = VoiceResponse()
    if texts:
        response.append(say(texts, language, settings))
    response.hangup()
    return response.to_xml()


def wait_then(texts: list[str], language: str, settings: Settings, url: str) -> str:
    """A short line, then fetch the answer of a slow turn from `url`."""
    response = VoiceResponse()
    response.append(say(texts, language, settings))
    response.redirect(url, method="POST")
    return response.to_xml()


def has_agent_line(settings: Settings) -> bool:
    """Whether calls can be passed to people (a queue, a SIP address or a number)."""
    return bool(
        settings.voice_queue or settings.voice_transfer_sip or settings.voice_transfer_number
    )


def _connect(response: VoiceResponse, settings: Settings, case_id: str, language: str) -> None:
    """Append the verb that connects the caller to a person, or hang up without a line."""
    if settings.voice_queue:
        response.append(Enqueue(settings.voice_queue))
    elif settings.voice_transfer_sip:
        dial = Dial()
        separator = "&" if "?" in settings.voice_transfer_sip else "?"
        dial.sip(f"{settings.voice_transfer_sip}{separator}X-Case-Id={case_id}")
        response.append(dial)
    elif settings.voice_transfer_number:
        dial = Dial()
        dial.number(
            settings.voice_transfer_number,
            url=f"{settings.voice_base_url}/webhooks/voice/whisper?"
            + urlencode({"case": case_id, "language": language}),
        )
        response.append(dial)
    else:
        # No agent line configured: the case waits for a call back.
        response.hangup()


def transfer(texts: list[str], language: str, settings: Settings, case_id: str) -> str:
    """Say the handoff line, then connect the caller to a person.

    The case is found by the call: its conversation id is the CallSid, which
    the agent's side of a `<Dial>` or a dequeued call also sees; a SIP
    transfer carries the case id as a header, a transfer to a number plays
    it to the agent first (whisper URL).
    """
    response = VoiceResponse()
    response.append(say(texts, language, settings))
    _connect(response, settings, case_id, language)
    return response.to_xml()


#: seconds the emergency line may ring before the caller hears its number instead
EMERGENCY_RING_SECONDS = 30


def emergency_line(line: EmergencyLine, settings: Settings) -> str:
    """The safety instructions, a `<Dial>` to the emergency line, then its number and goodbye.

    Without an `action` Twilio goes on after the `<Dial>` when the emergency
    line does not answer or that call ends, so the caller still hears the number.
    """
    response = VoiceResponse()
    response.append(say(list(line.texts), line.language, settings))
    dial = Dial(timeout=EMERGENCY_RING_SECONDS)
    dial.number(line.dial)
    response.append(dial)
    response.append(say([line.after], line.language, settings))
    response.hangup()
    return response.to_xml()


def technical_problem(
    lines: dict[str, str], settings: Settings, case_id: str = "", passed_on: bool = True
) -> str:
    """The apology in each given language, then a person (if `passed_on` and there is
    an agent line) or the end of the call.

    Used when the bot cannot answer the call's turn. Without a case (the
    database is down too) the agent hears so in the whisper.
    """
    response = VoiceResponse()
    for language, text in lines.items():
        response.append(say([text], language, settings))
    if passed_on:
        _connect(response, settings, case_id, next(iter(lines), "de"))
    else:
        response.hangup()
    return response.to_xml()


def language_menu(german: str, turkish: str, settings: Settings, url: str) -> str:
    """The opening: each language's line in its own voice, keypad or speech."""
    response = VoiceResponse()
    listening = gather("de", url, hints="Deutsch, Türkisch, Türkçe, eins, zwei")
    listening.append(say([german], "de", settings))
    listening.append(say([turkish], "tr", settings))
    response.append(listening)
    return response.to_xml()


def announcement(texts: list[str], language: str, settings: Settings) -> str:
    """Only speech (the agent's whisper before a transferred call connects)."""
    response = VoiceResponse()
    response.append(say(texts, language, settings))
    return response.to_xml()


def render(decision: Decision, settings: Settings) -> str:
    """The TwiML of one decision of the call flow."""
    if isinstance(decision, Ask):
        url = action_url(settings, step="turn", turn=decision.turn)
        return ask(list(decision.texts), decision.language, settings, url, decision.expects)
    if isinstance(decision, LanguageMenu):
        url = action_url(settings, step="language", turn=decision.turn)
        return language_menu(decision.welcome["de"], decision.welcome["tr"], settings, url)
    if isinstance(decision, Transfer):
        return transfer(list(decision.texts), decision.language, settings, decision.case_id)
    if isinstance(decision, EmergencyLine):
        return emergency_line(decision, settings)
    if isinstance(decision, Goodbye):
        return goodbye(list(decision.texts), decision.language, settings)
    if isinstance(decision, OneMoment):
        url = action_url(settings, step="pending", turn=decision.turn)
        return wait_then(list(decision.texts), decision.language, settings, url)
    if isinstance(decision, TechnicalProblem):
        return technical_problem(decision.lines, settings, decision.case_id, decision.passed_on)
    raise TypeError(f"not a decision of the call flow: {decision!r}")
