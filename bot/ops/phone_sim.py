"""Call the phone bot from a terminal: `python -m bot.ops.phone_sim`.

Plays Twilio's part of a call against the running service (`make run`): it
sends the same signed webhook requests Twilio would, prints what the caller
would hear, and sends what you type as the caller's speech. Type `dtmf:123#`
for keypad input, an empty line for silence, `quit` to hang up.

`PhoneCall` is also what the end-to-end tests use to hold whole calls.
"""

from __future__ import annotations

import argparse
import secrets
import ssl
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import httpx
from twilio.request_validator import RequestValidator

from bot.infra.settings import get_settings
from bot.ops.edge import client_tls


@dataclass
class Answer:
    """One TwiML answer, read the way Twilio would act on it."""

    xml: str
    root: ET.Element

    @classmethod
    def parse(cls, xml: str) -> Answer:
        return cls(xml, ET.fromstring(xml))

    @property
    def spoken(self) -> str:
        """What the caller hears, as text; a pause between two replies is a space."""
        return " ".join(_said(say) for say in self.root.iter("Say"))

    @property
    def next_url(self) -> str | None:
        gather = self.root.find("Gather")
        if gather is not None:
            return gather.get("action")
        redirect = self.root.find("Redirect")
        return redirect.text if redirect is not None else None

    @property
    def listens_in(self) -> str | None:
        gather = self.root.find("Gather")
        return gather.get("language") if gather is not None else None

    @property
    def hung_up(self) -> bool:
        return self.root.find("Hangup") is not None

    @property
    def transfer(self) -> ET.Element | None:
        for verb in ("Dial", "Enqueue"):
            element = self.root.find(verb)
            if element is not None:
                return element
        return None

    @property
    def ended(self) -> bool:
        return self.hung_up or self.transfer is not None


@dataclass
class PhoneCall:
    """A simulated call: signed requests like Twilio's, one CallSid."""

    base_url: str
    token: str
    caller: str = "+4915100000000"
    call_sid: str = field(default_factory=lambda: "CA" + secrets.token_hex(16))
    next_url: str | None = None
    timeout: float = 30.0
    # whom an https URL may be: the system's authorities (and the edge's
    # development certificate: bot/ops/edge.py client_tls)
    verify: ssl.SSLContext | bool = True

    def _post(self, url: str, params: dict[str, str]) -> httpx.Response:
        signature = RequestValidator(self.token).compute_signature(url, params)
        return httpx.post(
            url,
            data=params,
            headers={"X-Twilio-Signature": signature},
            timeout=self.timeout,
            verify=self.verify,
        )

    def _params(self, **extra: str) -> dict[str, str]:
        return {
            "CallSid": self.call_sid,
            "AccountSid": "AC" + "0" * 32,
            "From": self.caller,
            "To": "+4923100000000",
            "CallStatus": "in-progress",
            "Direction": "inbound",
            **extra,
        }

    def _follow(self, url: str, params: dict[str, str]) -> Answer:
        reply = self._post(url, params)
        reply.raise_for_status()
        answer = Answer.parse(reply.text)
        self.next_url = answer.next_url
        # "One moment": Twilio follows a <Redirect> on its own.
        if answer.root.find("Redirect") is not None and answer.next_url:
            return self._follow(answer.next_url, self._params())
        return answer

    def start(self) -> Answer:
        """The call comes in."""
        return self._follow(
            f"{self.base_url}/webhooks/voice/webhook", self._params(CallStatus="ringing")
        )

    def say(self, speech: str) -> Answer:
        assert self.next_url, "the call is not listening"
        return self._follow(self.next_url, self._params(SpeechResult=speech, Confidence="0.9"))

    def press(self, digits: str) -> Answer:
        assert self.next_url, "the call is not listening"
        return self._follow(self.next_url, self._params(Digits=digits.rstrip("#")))

    def silence(self) -> Answer:
        assert self.next_url, "the call is not listening"
        return self._follow(self.next_url, self._params())

    def hang_up(self, status: str = "completed", duration: int = 42) -> httpx.Response:
        return self._post(
            f"{self.base_url}/webhooks/voice/status",
            self._params(CallStatus=status, CallDuration=str(duration)),
        )


def _said(say: ET.Element) -> str:
    parts = [say.text or ""]
    for child in say:
        parts.append(" " if child.tag == "break" else "".join(child.itertext()))
        parts.append(child.tail or "")
    return " ".join("".join(parts).split())


def ending(answer: Answer) -> str:
    """What the end of the call does: a transfer (to which line) or a hang-up."""
    if answer.transfer is None:
        return "📞 hung up"
    number = answer.transfer.find("Number")
    if number is not None and number.text:
        return f"📞 connected to {number.text}"
    return "📞 transferred to a person"


def main() -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=settings.voice_base_url, help="the service's base URL")
    parser.add_argument("--caller", default="+4915100000000", help="the caller's number")
    args = parser.parse_args()
    call = PhoneCall(
        args.url.rstrip("/"), settings.voice_token, caller=args.caller, verify=client_tls(settings)
    )
    answer = call.start()
    while True:
        print(f"\n🔊 {answer.spoken}")
        if answer.ended:
            print(ending(answer))
            call.hang_up()
            return 0
        print(f"   (listening in {answer.listens_in}; dtmf:123# for keys, empty = silence)")
        try:
            line = input("🗣  ").strip()
        except (EOFError, KeyboardInterrupt):
            line = "quit"
        if line == "quit":
            call.hang_up()
            return 0
        if line.startswith("dtmf:"):
            answer = call.press(line[5:])
        elif line:
            answer = call.say(line)
        else:
            answer = call.silence()


if __name__ == "__main__":
    sys.exit(main())
