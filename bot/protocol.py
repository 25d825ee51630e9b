"""The seam between the bot and its channels: what a channel sends, what the bot answers.

The bot's answer to one customer message is one `BotReply`: the texts with
their buttons, and a few named signals in Rasa `custom` payloads:

- `handoff` (a person takes over: the case id, reason, language, and whether
  people answer now), written by the handoff action;
- `technical_problem` (the bot apologised because its action server failed),
  written by the Rasa runtime, so a channel can reach a person without it;
- `end_conversation` (the bot said goodbye), written in the domain;
- `emergency` (a gas smell: the number of the 24-hour emergency line, which
  the phone dials for the caller), written by the emergency action.

Two things travel in a response's `metadata` (Rasa passes it to the output
channel, not to the REST wire): `expects`, the input hint of a question (a
date, an amount, digits of a given length, yes or no, a choice among the
buttons, free text, a file), written next to the question in the domain; and
`language`, the language of the text, added by the response generator
(bot/rasa_runtime/nlg.py).

`BotReply.from_rasa()` is the only reader of Rasa's message dicts: the phone
turns the reply into TwiML (keypad handling and speech hints from `expects`),
the web chat into widget frames (numeric keyboard, quick replies). No channel
reads a slot. This module imports nothing of ours and no framework.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

# --- whose conversation it is ------------------------------------------------------------

#: Each channel's conversation ids; a channel refuses the others' (a call's or a
#: chat's id seen in a log must not open that conversation over REST).
WEB_CONVERSATION = re.compile(r"web-[0-9a-f]{24}")
PHONE_CONVERSATION = re.compile(r"CA[0-9a-f]{32}")


def conversation_channel(conversation_id: str) -> str:
    """Which channel a conversation id belongs to: `web`, `voice`, or `rest` for any other."""
    if WEB_CONVERSATION.fullmatch(conversation_id):
        return "web"
    if PHONE_CONVERSATION.fullmatch(conversation_id):
        return "voice"
    return "rest"


# --- what channels send to the bot --------------------------------------------------------

#: Where a customer's message comes from (its metadata's `source`:
#: `web:<address>`, `rest:<address>`, `voice:<caller>`); failed identity checks
#: and handoff cases are counted per source.
MAX_SOURCE_CHARS = 64


def web_source(client: str | None, conversation_id: str) -> str:
    """A web chat's source: the browser's address as our proxies report it, else
    (this machine, our own proxies) the conversation itself."""
    return f"web:{(client or conversation_id)[:MAX_SOURCE_CHARS]}"


#: The payload of "I want a person" (the phone's 0 key, the web chat's button).
PERSON_PAYLOAD = "/request_human"
#: Customer messages longer than this are refused politely, in every channel.
MAX_MESSAGE_CHARS = 2000


def typed(text: str) -> str:
    """What a customer typed or said, never a command: leading slashes are dropped.

    Rasa reads a message that starts with `/` as an intent (`/restart` wipes
    the conversation); only payloads of buttons the bot itself offered may
    look like that, and channels pass those on unchanged.
    """
    return text.lstrip("/ \t") if text.startswith("/") else text


def input_problem(text: str) -> str | None:
    """The response that answers unusable text (empty, too long), or None when it can go on."""
    if not text:
        return "utter_input_empty"
    if len(text) > MAX_MESSAGE_CHARS:
        return "utter_input_too_long"
    return None


# --- the names in the bot's payloads ------------------------------------------------------

HANDOFF = "handoff"
TECHNICAL_PROBLEM = "technical_problem"
END_OF_CONVERSATION = "end_conversation"
EMERGENCY = "emergency"
CUSTOM_KEYS = frozenset({HANDOFF, TECHNICAL_PROBLEM, END_OF_CONVERSATION, EMERGENCY})
EXPECTS = "expects"
LANGUAGE = "language"


# --- the input hint -------------------------------------------------------------------------

#: `file`: a file to send (the web chat's file button; other channels ignore it and
#: their wording names another way, see domain/reconnection.yml)
EXPECTED_KINDS = ("date", "amount", "digits", "yes_no", "choice", "text", "file")


@dataclass(frozen=True)
class Expects:
    """What a question asks for, so a channel can offer the right input.

    `length` is the number of digits for `digits` (a customer number has 8,
    a postcode 5); None when it varies.
    """

    kind: str
    length: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in EXPECTED_KINDS:
            raise ValueError(f"unknown input hint {self.kind!r}")
        if self.length is not None and (self.kind != "digits" or self.length < 1):
            raise ValueError("only a digits hint has a length, and it is positive")

    @classmethod
    def parse(cls, raw: Any) -> Expects | None:
        """The hint in a response's metadata; None if there is none or it is malformed."""
        if not isinstance(raw, dict) or not isinstance(raw.get("kind"), str):
            return None
        length = raw.get("length")
        try:
            return cls(raw["kind"], length if isinstance(length, int) else None)
        except ValueError:
            return None

    def as_dict(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value is not None}


# --- the reply --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class Message:
    """One text of the bot, with the buttons offered under it."""

    text: str
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True)
class Handoff:
    """A person takes over the conversation."""

    case_id: str
    reason: str
    language: str
    #: whether people answer now (the phone transfers; otherwise a call back)
    agents_available: bool = True

    def payload(self) -> dict[str, Any]:
        """The `custom` payload the handoff action sends."""
        return {HANDOFF: asdict(self)}

    @classmethod
    def parse(cls, raw: Any) -> Handoff | None:
        if not isinstance(raw, dict):
            return None
        return cls(
            case_id=str(raw.get("case_id") or "")[:16],
            reason=str(raw.get("reason") or ""),
            language=str(raw.get("language") or ""),
            agents_available=raw.get("agents_available", True) is not False,
        )


@dataclass(frozen=True)
class Emergency:
    """A danger the customer reported (`gas_smell`), and the emergency line for it."""

    kind: str
    #: the number to dial, E.164 (`+498007788112`)
    dial: str
    #: the number as customers write it down (`0800 7788 112`)
    number: str

    def payload(self) -> dict[str, Any]:
        """The `custom` payload the emergency action sends."""
        return {EMERGENCY: asdict(self)}

    @classmethod
    def parse(cls, raw: Any) -> Emergency | None:
        if not isinstance(raw, dict):
            return None
        dial, number = str(raw.get("dial") or ""), str(raw.get("number") or "")
        if not re.fullmatch(r"\+[1-9]\d{4,15}", dial):
            return None
        return cls(str(raw.get("kind") or "")[:20], dial, number[:30])


def _buttons(raw: Any) -> tuple[Button, ...]:
    """The buttons of a message (those without a title are no buttons)."""
    if not isinstance(raw, list):
        return ()
    return tuple(
        Button(str(b["title"]), str(b.get("payload", "")))
        for b in raw
        if isinstance(b, dict) and b.get("title")
    )


def technical_problem_payload() -> dict[str, Any]:
    """The `custom` payload that marks the apology for a failed action server."""
    return {TECHNICAL_PROBLEM: True}


@dataclass
class BotReply:
    """What the bot answered to one customer message."""

    messages: list[Message] = field(default_factory=list)
    handoff: Handoff | None = None
    technical_problem: bool = False
    end_of_conversation: bool = False
    emergency: Emergency | None = None
    #: the input hint of the last text (the question the customer answers next)
    expects: Expects | None = None
    #: the language of the last text (None: the reply had no text of the bot's domain)
    language: str | None = None

    @property
    def texts(self) -> list[str]:
        return [message.text for message in self.messages]

    @property
    def buttons(self) -> list[Button]:
        return [button for message in self.messages for button in message.buttons]

    @classmethod
    def from_rasa(cls, messages: Iterable[dict[str, Any]]) -> BotReply:
        """The reply in the messages Rasa hands an output channel in one turn.

        Each message is what `OutputChannel.send_response` receives (text,
        buttons, custom, and the response's metadata), or the smaller dicts of
        Rasa's REST wire format (no metadata).
        """
        reply = cls()
        for message in messages:
            if not isinstance(message, dict):
                continue
            custom = message.get("custom")
            if isinstance(custom, dict):
                reply._read_custom(custom)
            text = message.get("text")
            if not isinstance(text, str) or not text.strip():
                continue
            reply.messages.append(Message(text, _buttons(message.get("buttons"))))
            metadata = message.get("metadata")
            metadata = metadata if isinstance(metadata, dict) else {}
            reply.expects = Expects.parse(metadata.get(EXPECTS))
            if isinstance(metadata.get(LANGUAGE), str):
                reply.language = metadata[LANGUAGE]
        return reply

    def _read_custom(self, custom: dict[str, Any]) -> None:
        handoff = Handoff.parse(custom.get(HANDOFF))
        if handoff is not None:
            self.handoff = handoff
        if custom.get(TECHNICAL_PROBLEM) is True:
            self.technical_problem = True
        if custom.get(END_OF_CONVERSATION) is True:
            self.end_of_conversation = True
        emergency = Emergency.parse(custom.get(EMERGENCY))
        if emergency is not None:
            self.emergency = emergency

    # --- the web channel's wire format (bot/rasa_runtime → the web app) ---------------

    def to_json(self) -> dict[str, Any]:
        return {
            "messages": [
                {"text": m.text, "buttons": [asdict(b) for b in m.buttons]} for m in self.messages
            ],
            "handoff": asdict(self.handoff) if self.handoff else None,
            "technical_problem": self.technical_problem,
            "end_of_conversation": self.end_of_conversation,
            "emergency": asdict(self.emergency) if self.emergency else None,
            "expects": self.expects.as_dict() if self.expects else None,
            "language": self.language,
        }

    @classmethod
    def from_json(cls, data: Any) -> BotReply:
        """Read `to_json()`'s output; anything malformed is left out."""
        if not isinstance(data, dict):
            return cls()
        messages = []
        for raw in data.get("messages") or []:
            if isinstance(raw, dict) and isinstance(raw.get("text"), str) and raw["text"].strip():
                messages.append(Message(raw["text"], _buttons(raw.get("buttons"))))
        language = data.get("language")
        return cls(
            messages=messages,
            handoff=Handoff.parse(data.get("handoff")),
            technical_problem=data.get("technical_problem") is True,
            end_of_conversation=data.get("end_of_conversation") is True,
            emergency=Emergency.parse(data.get("emergency")),
            expects=Expects.parse(data.get("expects")),
            language=language if isinstance(language, str) else None,
        )
