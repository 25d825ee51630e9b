"""The phone call as pure decisions: what the caller hears next, and the call's new state.

Every request Twilio sends is one step of a call. `on_request` decides from
the call's state and what the caller did (spoke, pressed keys, stayed
silent) whether the channel answers itself (the language menu, a prompt
after a silence) or the bot must answer (`BotTurn`); `on_reply` turns the
bot's reply into the next decision. Decisions are rendered as TwiML by
`connectors.voice.twiml`; the webhook (`connectors.voice.channel`) only
checks, stores and calls these functions. Nothing here does I/O, so the
tests call it without a server.

What keypad digits mean depends on the question the bot asked: its input
hint (`expects`, bot/protocol.py) is kept with the call between requests.

A handoff is a transfer only while people answer and a line to them is
configured (`PersonLine`); otherwise the caller hears what really happens:
the case number and a call back within the hotline hours (or, with the
number withheld, when to call again), and the call ends politely.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from bot.domain.hotline import HotlineHours, spoken_hours
from bot.domain.language import detect, requested_language
from bot.domain.languages import LANGUAGES, or_default
from bot.domain.services.handoff import what_next
from bot.domain.text import clean_message
from bot.protocol import PERSON_PAYLOAD, BotReply, Expects, Handoff, typed
from connectors.voice.speech import choice_prompt

MAX_SILENCES = 3
MAX_SPEECH_CHARS = 500
MAX_DIGITS = 20
LANGUAGE_KEYS = {"1": "de", "2": "tr"}
#: A response's text in a language (the loaded domain's texts).
Texts = Callable[[str, str], str]


# --- what the channel knows -----------------------------------------------------------


@dataclass(frozen=True)
class CallState:
    """What is kept of a call between Twilio's requests."""

    call_sid: str
    language: str | None = None
    silences: int = 0
    #: the buttons of the last reply as (title, payload): keys 1, 2, ... choose them
    choices: tuple[tuple[str, str], ...] = ()
    #: the input hint of the last question
    expects: Expects | None = None


@dataclass(frozen=True)
class CallerInput:
    """One request of Twilio's: which step of the call, and what the caller did."""

    step: str = "start"  # start | language | turn | pending
    turn: int = 0
    speech: str = ""
    digits: str = ""

    @classmethod
    def from_twilio(cls, step: str, turn: str, params: dict[str, str]) -> CallerInput:
        return cls(
            step=step,
            turn=int(turn) if turn.isdigit() else 0,
            speech=typed(clean_message(params.get("SpeechResult", "")))[:MAX_SPEECH_CHARS],
            digits=re.sub(r"[^0-9*]", "", params.get("Digits", ""))[:MAX_DIGITS],
        )


@dataclass(frozen=True)
class PersonLine:
    """How a caller can reach a person: connected now, or called back later."""

    #: a queue, SIP address or number takes transferred calls (settings)
    connected: bool
    hours: HotlineHours
    #: the utility's local time
    now: dt.datetime
    #: the number a person can call back (None: withheld)
    caller: str | None = None

    @property
    def open_now(self) -> bool:
        """Whether a call can be passed to a person right now."""
        return self.connected and self.hours.is_open(self.now)


# --- what the caller hears next -------------------------------------------------------


@dataclass(frozen=True)
class LanguageMenu:
    """The opening: each language's welcome in its own voice; keys 1 and 2, or speech."""

    welcome: dict[str, str]
    turn: int


@dataclass(frozen=True)
class Ask:
    """Say the texts and listen for the answer (speech or keypad)."""

    texts: tuple[str, ...]
    language: str
    turn: int
    expects: Expects | None = None


@dataclass(frozen=True)
class Transfer:
    """Say the texts, then connect the caller to a person (the case goes along)."""

    texts: tuple[str, ...]
    language: str
    case_id: str


@dataclass(frozen=True)
class EmergencyLine:
    """Say the safety instructions, connect the caller to the emergency line, then its number."""

    texts: tuple[str, ...]
    language: str
    #: the number dialled (E.164)
    dial: str
    #: said if the emergency line does not answer or the call to it ends
    after: str


@dataclass(frozen=True)
class Goodbye:
    texts: tuple[str, ...]
    language: str


@dataclass(frozen=True)
class OneMoment:
    """A short line while the bot is slow; Twilio then asks for `turn`'s answer."""

    texts: tuple[str, ...]
    language: str
    turn: int


@dataclass(frozen=True)
class TechnicalProblem:
    """The bot cannot answer: an apology per language, then a person (or goodbye)."""

    lines: dict[str, str]
    case_id: str = ""
    #: connected to a person (else the call ends after the apology)
    passed_on: bool = True


Decision = LanguageMenu | Ask | Transfer | EmergencyLine | Goodbye | OneMoment | TechnicalProblem


@dataclass(frozen=True)
class BotTurn:
    """Not a decision yet: the bot must answer `text` first (then `on_reply`)."""

    text: str
    language: str


@dataclass(frozen=True)
class PassOn:
    """The bot failed (its action server): the channel opens a case, then `technical_problem`."""

    language: str


@dataclass(frozen=True)
class Step:
    """A decision and the call's state after it."""

    decision: Decision | BotTurn | PassOn
    state: CallState
    changed: frozenset[str] = field(default_factory=frozenset)


def _step(decision: Decision | BotTurn | PassOn, state: CallState, **changes: object) -> Step:
    return Step(decision, replace(state, **changes), frozenset(changes))


# --- the decisions --------------------------------------------------------------------


def on_request(call: CallState, caller: CallerInput, texts: Texts, utility: str) -> Step:
    """What follows a request of Twilio's, before the bot is asked (if it is)."""
    if caller.step == "start":
        return _step(language_menu(texts, utility, caller.turn + 1), call)
    language = call.language
    if caller.step == "language":
        chosen = LANGUAGE_KEYS.get(caller.digits) or requested_language(caller.speech)
        if chosen:
            greeting = texts("utter_voice_how_can_i_help", chosen)
            return _step(
                Ask((greeting,), chosen, caller.turn + 1), call, language=chosen, silences=0
            )
        if not caller.speech:
            return silence(call, caller.turn, texts, utility)
        # The caller just started talking: their words are the first turn.
        language = detect(caller.speech) or or_default(None)
    if not caller.speech and not caller.digits:
        return silence(call, caller.turn, texts, utility)
    text = keypad_text(caller.digits, call) or caller.speech
    return _step(BotTurn(text, or_default(language)), call, language=or_default(language))


def on_reply(
    call: CallState,
    caller: CallerInput,
    reply: BotReply,
    language: str,
    texts: Texts,
    line: PersonLine,
) -> Step:
    """The next decision after the bot answered the caller's turn."""
    if reply.technical_problem and reply.handoff is None:
        return _step(PassOn(language), call, language=language, silences=0)
    # The reply is in the conversation's language, which the caller may just
    # have switched ("Türkçe lütfen").
    language = reply.language if reply.language in LANGUAGES else language
    spoken = tuple(reply.texts)
    if reply.buttons:
        spoken += (choice_prompt([button.title for button in reply.buttons], language),)
    changes = {
        "language": language,
        "silences": 0,
        "choices": tuple((button.title, button.payload) for button in reply.buttons),
        "expects": reply.expects,
    }
    if reply.emergency is not None:
        # A gas smell: straight through to the emergency line, whatever else the reply says.
        number = {"emergency_number": reply.emergency.number}
        said = (*reply.texts, texts("utter_voice_emergency_transfer", language).format(**number))
        after = texts("utter_voice_emergency_goodbye", language).format(**number)
        line = EmergencyLine(said, language, reply.emergency.dial, after)
        return _step(line, call, **changes)
    if reply.handoff is not None:
        if reply.handoff.agents_available and line.connected:
            return _step(Transfer(spoken, language, reply.handoff.case_id), call, **changes)
        # The handoff's own line (the last text) promised a person; say what really happens.
        said = (*reply.texts[:-1], call_back(reply.handoff, language, texts, line))
        return _step(Goodbye(said, language), call, **changes)
    if reply.end_of_conversation:
        return _step(Goodbye(spoken, language), call, **changes)
    return _step(Ask(spoken, language, caller.turn + 1, reply.expects), call, **changes)


def emergency_without_bot(language: str, texts: Texts, dial: str, number: str) -> EmergencyLine:
    """The gas emergency answer when the bot cannot give it (it failed): the same
    instructions from the domain, and the same line."""
    values = {"emergency_number": number}
    said = (
        texts("utter_gas_emergency", language).format(**values),
        texts("utter_voice_emergency_transfer", language).format(**values),
    )
    after = texts("utter_voice_emergency_goodbye", language).format(**values)
    return EmergencyLine(said, language, dial, after)


def slow_reply(call: CallState, caller: CallerInput, language: str, texts: Texts) -> Step:
    """The bot needs longer than Twilio waits: keep the line alive, deliver it next request."""
    line = texts("utter_voice_one_moment", language)
    return _step(OneMoment((line,), language, caller.turn + 1), call, language=language, silences=0)


def silence(call: CallState, turn: int, texts: Texts, utility: str) -> Step:
    """No input: ask again twice (the second time offering a person), then end the call."""
    silences = call.silences + 1
    language = or_default(call.language)
    if silences >= MAX_SILENCES:
        line = texts("utter_voice_no_input_goodbye", language)
        return _step(Goodbye((line,), language), call, silences=silences)
    if call.language is None:
        return _step(language_menu(texts, utility, turn + 1), call, silences=silences)
    name = "utter_voice_still_there" if silences == 1 else "utter_voice_offer_person"
    return _step(
        Ask((texts(name, language),), language, turn + 1, call.expects), call, silences=silences
    )


def language_menu(texts: Texts, utility: str, turn: int) -> LanguageMenu:
    welcome = {
        lang: texts("utter_voice_welcome", lang).format(utility=utility) for lang in LANGUAGES
    }
    return LanguageMenu(welcome, turn)


def call_back(handoff: Handoff, language: str, texts: Texts, line: PersonLine) -> str:
    """What a caller hears whose case waits for a person: its number, and when they hear back."""
    then = what_next(handoff.case_id, language, hours=line.hours, wait_minutes=0, now=line.now)
    values = {**then.values, "hours": spoken_hours(line.hours, language)}
    if line.caller is None:
        name = "utter_voice_no_callback"
    elif then.agents_available:
        name = "utter_voice_callback"
    else:
        name = "utter_voice_callback_later"
    return texts(name, language).format(**values)


def technical_problem(
    language: str | None, texts: Texts, person_now: bool, case_id: str = ""
) -> TechnicalProblem:
    """The apology in the call's language (both when it is not known yet); then a person
    if one takes calls now (`PersonLine.open_now`), else the request to call again."""
    name = "utter_voice_technical_transfer" if person_now else "utter_voice_technical_goodbye"
    spoken = [language] if language in LANGUAGES else list(LANGUAGES)
    return TechnicalProblem({lang: texts(name, lang) for lang in spoken}, case_id, person_now)


def still_working(turn: int, texts: Texts) -> OneMoment:
    """For a re-sent request whose first delivery is still being answered."""
    language = or_default(None)
    return OneMoment((texts("utter_voice_one_moment", language),), language, turn + 1)


# --- keypad ---------------------------------------------------------------------------


def keypad_text(digits: str, call: CallState) -> str | None:
    """What keypad input means: a person, a menu choice, or an answer to the question."""
    if not digits:
        return None
    if digits == "0":
        return PERSON_PAYLOAD
    if len(digits) == 1 and call.choices and 1 <= int(digits) <= len(call.choices):
        return call.choices[int(digits) - 1][1]
    kind = call.expects.kind if call.expects else None
    if kind == "date" and re.fullmatch(r"\d{8}", digits):
        try:
            day = dt.date(int(digits[4:]), int(digits[2:4]), int(digits[:2]))
        except ValueError:
            return digits
        return day.strftime("%d.%m.%Y")
    if kind == "amount" and re.fullmatch(r"\d+(\*\d{1,2})?", digits):
        return digits.replace("*", ",") + " €"
    if kind == "digits" and call.expects.length is None and re.fullmatch(r"\d+\*\d{1,3}", digits):
        return digits.replace("*", ",")  # a number of any length (a meter reading): 8120*5
    return digits.replace("*", "")
