"""The phone hotline: a Twilio Voice channel for German and Turkish callers.

Registered in `credentials.yml` as `connectors.voice.VoiceInput` (name
`voice`): Twilio's "A call comes in" webhook and every follow-up go to
`POST /webhooks/voice/webhook`, call status callbacks to
`POST /webhooks/voice/status`.

One call is one Rasa conversation (sender id = CallSid). Each request is
checked against Twilio's `X-Twilio-Signature`; each answer is stored per
call and step, so a request Twilio re-sends gets the same answer instead of
running the conversation twice. The call opens with a bilingual language
choice; a caller who simply starts talking is understood in the language
they speak. Replies are the chat responses made speakable
(`connectors.speech`) and rendered as TwiML (`connectors.twiml`).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator

from bot import i18n
from bot.language import detect, requested_language
from bot.parsing import parse_birth_date
from bot.settings import Settings, load_settings
from bot.text import clean_message
from connectors import twiml
from connectors.agent_state import conversation_slots, conversation_transcript, domain_text
from connectors.phone_store import CallState, PhoneStore

logger = logging.getLogger(__name__)

CALL_SID = re.compile(r"CA[0-9a-f]{32}")
# Twilio waits 15 s for an answer; after this many seconds the caller hears
# "one moment" and Twilio fetches the answer with a second request.
REPLY_BUDGET_SECONDS = 8.0
MAX_SILENCES = 3
ENDED_STATUSES = {"completed", "busy", "no-answer", "failed", "canceled"}
TurnHandler = Callable[[UserMessage], Awaitable[Any]]
# TwiML to answer with, and the changes to the call's stored state
Answer = tuple[str, dict[str, Any]]


class VoiceOutputChannel(CollectingOutputChannel):
    """Collects one turn's replies; its name selects `channel: voice` responses."""

    @classmethod
    def name(cls) -> str:
        return "voice"


class VoiceInput(InputChannel):
    """Twilio Voice webhooks → Rasa conversations → TwiML."""

    @classmethod
    def name(cls) -> str:
        return "voice"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls(load_settings())

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # Raises in production without TWILIO_AUTH_TOKEN.
        self.validator = RequestValidator(settings.voice_token)
        if not settings.twilio_auth_token:
            logger.warning(
                "voice channel in development mode: requests are signed with the "
                "development token, not a Twilio account's"
            )
        self.store = PhoneStore()
        self._slow_turns: dict[tuple[str, str], asyncio.Future[str]] = {}

    # --- HTTP ---------------------------------------------------------------------------

    def blueprint(self, on_new_message: TurnHandler) -> Blueprint:
        webhook = Blueprint("voice_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            started = time.perf_counter()
            answer = await handle(request)
            # Server-side time of the turn, for the latency benchmark.
            answer.headers["Server-Timing"] = (
                f"turn;dur={(time.perf_counter() - started) * 1000:.1f}"
            )
            return answer

        async def handle(request: Request) -> HTTPResponse:
            params = self._params(request)
            if not self._signed(request, params):
                return response.text("forbidden", status=403)
            call_sid = params.get("CallSid", "")
            if not CALL_SID.fullmatch(call_sid):
                return response.text("missing or malformed CallSid", status=400)
            step = request.args.get("step", "start")
            turn = request.args.get("turn", "0")
            key = f"{step}:{turn}"[:40]
            try:
                call = await self.store.begin_turn(call_sid, key, params.get("From"))
            except Exception:  # noqa: BLE001 - the database is down: the caller must hear why
                logger.exception("voice turn not stored call=%s step=%s", call_sid, step)
                return _xml(self._technical_problem(request))
            if call is None:
                # Twilio re-sent a request we are answering or have answered.
                answer = await self.store.answer_of(call_sid, key, REPLY_BUDGET_SECONDS)
                return _xml(answer or self._still_working(request, turn))
            try:
                answer, changes = await self._answer(
                    request, on_new_message, call, params, step, turn
                )
            except Exception:  # noqa: BLE001 - the caller must hear something
                logger.exception("voice turn failed call=%s step=%s", call_sid, step)
                answer, changes = self._technical_problem(request, call.language), {}
            await self.store.save_answer(call_sid, key, answer, **changes)
            return _xml(answer)

        @webhook.route("/status", methods=["POST"])
        async def status(request: Request) -> HTTPResponse:
            params = self._params(request)
            if not self._signed(request, params):
                return response.text("forbidden", status=403)
            call_sid = params.get("CallSid", "")
            call_status = params.get("CallStatus", "")
            if CALL_SID.fullmatch(call_sid) and call_status in ENDED_STATUSES:
                duration = params.get("CallDuration", "")
                await self.store.end_call(
                    call_sid, call_status, int(duration) if duration.isdigit() else None
                )
            return response.text("", status=204)

        @webhook.route("/whisper", methods=["POST"])
        async def whisper(request: Request) -> HTTPResponse:
            """What the agent hears before a transferred call is connected."""
            params = self._params(request)
            if not self._signed(request, params):
                return response.text("forbidden", status=403)
            case_id = re.sub(r"[^A-Z0-9-]", "", request.args.get("case", ""))[:16]
            language = request.args.get("language", "de")
            if not case_id:  # passed on after a technical problem: nothing was stored
                line = domain_text(request, "utter_voice_whisper_no_case", "de")
                return _xml(twiml.announcement([line], "de", self.settings))
            line = domain_text(request, "utter_voice_whisper", "de").format(
                case_id=case_id,
                language=domain_text(request, f"utter_label_language_{language}", "de"),
            )
            return _xml(twiml.announcement([line], "de", self.settings))

        return webhook

    @staticmethod
    def _params(request: Request) -> dict[str, str]:
        """The POST parameters, blank ones included: Twilio signs those too.

        (Sanic's `request.form` drops blank values, which would make the
        signature of a request with e.g. an empty `Digits` fail.)
        """
        if not request.content_type.startswith("application/x-www-form-urlencoded"):
            return {}
        body = request.body.decode("utf-8", errors="replace")
        params: dict[str, str] = {}
        for key, value in parse_qsl(body, keep_blank_values=True):
            params.setdefault(key, value)
        return params

    def _signed(self, request: Request, params: dict[str, str]) -> bool:
        signature = request.headers.get("X-Twilio-Signature", "")
        url = f"{self.settings.voice_base_url}{request.path}"
        if request.query_string:
            url += f"?{request.query_string}"
        return bool(signature) and self.validator.validate(url, params, signature)

    # --- one turn -----------------------------------------------------------------------

    async def _answer(
        self,
        request: Request,
        on_new_message: TurnHandler,
        call: CallState,
        params: dict[str, str],
        step: str,
        turn: str,
    ) -> Answer:
        """The TwiML for one request, and what changed in the call's state."""
        call_sid = call.call_sid
        number = int(turn) if turn.isdigit() else 0
        if step == "start":
            return self._language_menu(request, number + 1), {}
        if step == "pending":
            return await self._pending(request, call, turn), {}

        speech = clean_message(params.get("SpeechResult", ""))[:500]
        digits = re.sub(r"[^0-9*]", "", params.get("Digits", ""))[:20]
        language = call.language
        if step == "language":
            chosen = {"1": "de", "2": "tr"}.get(digits) or requested_language(speech)
            if chosen:
                greeting = domain_text(request, "utter_voice_how_can_i_help", chosen)
                answer = twiml.ask([greeting], chosen, self.settings, self._url(number + 1))
                return answer, {"language": chosen, "silences": 0}
            if not speech:
                return self._silence(request, call, number)
            # The caller just started talking: their words are the first turn.
            language = detect(speech) or "de"
        language = language or "de"

        if not speech and not digits:
            return self._silence(request, call, number)
        text = self._text_of_keypad(digits, call) or speech
        task = asyncio.ensure_future(
            self._run_turn(request, on_new_message, call_sid, text, language, params, number)
        )
        done, _ = await asyncio.wait({task}, timeout=REPLY_BUDGET_SECONDS)
        if task in done:
            answer, changes = task.result()
            return answer, {**changes, "silences": 0}
        # Slow (a busy action server): keep the line alive, deliver it next request.
        self._slow_turns[(call_sid, str(number + 1))] = task
        task.add_done_callback(self._store_when_done(call_sid, f"result:{number + 1}"))
        answer = twiml.wait_then(
            [domain_text(request, "utter_voice_one_moment", language)],
            language,
            self.settings,
            twiml.action_url(self.settings, step="pending", turn=number + 1),
        )
        return answer, {"language": language, "silences": 0}

    def _store_when_done(self, call_sid: str, key: str) -> Callable[[asyncio.Task], None]:
        """A slow turn's answer and call state, stored for whichever process Twilio asks."""

        async def store(answer: str, changes: dict[str, Any]) -> None:
            try:
                await self.store.save_answer(call_sid, key, answer, **changes)
            except Exception:  # noqa: BLE001 - the pending request apologises instead
                logger.exception("slow turn's answer not stored call=%s", call_sid)

        def done(task: asyncio.Task) -> None:
            if not task.cancelled() and task.exception() is None:
                answer, changes = task.result()
                asyncio.ensure_future(store(answer, changes))

        return done

    async def _pending(self, request: Request, call: CallState, turn: str) -> str:
        """The answer of a slow turn: from this process, or stored by another."""
        call_sid = call.call_sid
        task = self._slow_turns.pop((call_sid, turn), None)
        if task is not None:
            try:
                answer, _ = await asyncio.wait_for(asyncio.shield(task), REPLY_BUDGET_SECONDS)
                return answer
            except asyncio.TimeoutError:
                pass
        else:
            answer = await self.store.answer_of(call_sid, f"result:{turn}", REPLY_BUDGET_SECONDS)
            if answer:
                return answer
        # Still nothing after two budgets: a person rather than a loop.
        return await self._pass_on_after_technical_problem(request, call_sid, call.language)

    async def _run_turn(
        self,
        request: Request,
        on_new_message: TurnHandler,
        call_sid: str,
        text: str,
        language: str,
        params: dict[str, str],
        number: int,
    ) -> Answer:
        collector = VoiceOutputChannel()
        metadata = {"language": language, "channel": "voice", "caller": params.get("From", "")}
        await on_new_message(
            UserMessage(text, collector, call_sid, input_channel=self.name(), metadata=metadata)
        )
        reply = twiml.BotReply.from_messages(collector.messages)
        if reply.technical_problem and reply.handoff is None:
            answer = await self._pass_on_after_technical_problem(request, call_sid, language)
            return answer, {"language": language}
        # The conversation may have switched language ("Türkçe lütfen"), and the
        # question it asks decides what keypad digits mean next turn.
        slots = await conversation_slots(request, call_sid, ("language", "requested_slot"))
        if slots.get("language") in i18n.LANGUAGES:
            language = slots["language"]
        changes = {
            "language": language,
            "choices": reply.choices,
            "requested_slot": slots.get("requested_slot"),
        }
        texts = twiml.menu_choices(reply, language)
        if reply.handoff is not None:
            if reply.handoff.get("agents_available", True):
                return twiml.transfer(texts, language, self.settings, reply.handoff), changes
            return twiml.goodbye(texts, language, self.settings), changes
        if reply.end:
            return twiml.goodbye(texts, language, self.settings), changes
        return twiml.ask(texts, language, self.settings, self._url(number + 1)), changes

    async def _pass_on_after_technical_problem(
        self, request: Request, call_sid: str, language: str | None
    ) -> str:
        """The bot cannot serve the call now (its action server failed): a person can.

        The case, with what was said so far, is opened here; if even that
        fails the call is still passed on (the agent hears there is no case).
        """
        case_id = ""
        if twiml.has_agent_line(self.settings):
            try:
                lines = await conversation_transcript(request, call_sid)
                case_id = await self.store.open_case(call_sid, language or "de", lines)
            except Exception:  # noqa: BLE001 - the caller is passed on without a case
                logger.exception("no case for a call after a technical problem call=%s", call_sid)
            logger.info(
                "call passed on after a technical problem call=%s case=%s", call_sid, case_id
            )
        return self._technical_problem(request, language, case_id)

    def _silence(self, request: Request, call: CallState, number: int) -> Answer:
        """No input: re-prompt twice (the second time offering a person), then end."""
        language = call.language or "de"
        silences = call.silences + 1
        changes = {"silences": silences}
        if silences >= MAX_SILENCES:
            answer = twiml.goodbye(
                [domain_text(request, "utter_voice_no_input_goodbye", language)],
                language,
                self.settings,
            )
            return answer, changes
        if call.language is None:
            return self._language_menu(request, number + 1), changes
        name = "utter_voice_still_there" if silences == 1 else "utter_voice_offer_person"
        answer = twiml.ask(
            [domain_text(request, name, language)],
            language,
            self.settings,
            self._url(number + 1),
        )
        return answer, changes

    @staticmethod
    def _text_of_keypad(digits: str, call: CallState) -> str | None:
        """What keypad input means: a menu choice, a person, a date, an amount."""
        if not digits:
            return None
        if digits == "0":
            return "/request_human"
        choices = call.choices
        if len(digits) == 1 and choices and 1 <= int(digits) <= len(choices):
            return str(choices[int(digits) - 1][1])
        requested = call.requested_slot
        if requested == "birth_date" and len(digits) == 8:
            day = parse_birth_date(f"{digits[:2]}.{digits[2:4]}.{digits[4:]}")
            if day is not None:
                return day.strftime("%d.%m.%Y")
        if requested == "ap_amount" and re.fullmatch(r"\d+(\*\d{1,2})?", digits):
            return digits.replace("*", ",") + " €"
        return digits.replace("*", "")

    # --- helpers ------------------------------------------------------------------------

    def _url(self, turn: int) -> str:
        return twiml.action_url(self.settings, step="turn", turn=turn)

    def _language_menu(self, request: Request, turn: int) -> str:
        return twiml.language_menu(
            domain_text(request, "utter_voice_welcome", "de").format(
                utility=self.settings.utility_name
            ),
            domain_text(request, "utter_voice_welcome", "tr").format(
                utility=self.settings.utility_name
            ),
            self.settings,
            twiml.action_url(self.settings, step="language", turn=turn),
        )

    def _still_working(self, request: Request, turn: str) -> str:
        """For a re-sent request whose first delivery is still being answered."""
        number = int(turn) if turn.isdigit() else 0
        return twiml.wait_then(
            [domain_text(request, "utter_voice_one_moment", "de")],
            "de",
            self.settings,
            twiml.action_url(self.settings, step="pending", turn=number + 1),
        )

    def _technical_problem(
        self, request: Request, language: str | None = None, case_id: str = ""
    ) -> str:
        """Apologise and pass the caller to a person (or ask them to call again).

        In the call's language when it is known, else in German and Turkish.
        """
        line = (
            "utter_voice_technical_transfer"
            if twiml.has_agent_line(self.settings)
            else "utter_voice_technical_goodbye"
        )
        languages = [language] if language in i18n.LANGUAGES else list(i18n.LANGUAGES)
        return twiml.technical_problem(
            {lang: domain_text(request, line, lang) for lang in languages}, self.settings, case_id
        )


def _xml(body: str) -> HTTPResponse:
    return response.text(body, content_type="text/xml; charset=utf-8")
