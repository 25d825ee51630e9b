"""The phone hotline: a Twilio Voice channel for German and Turkish callers.

Registered in `credentials.yml` as `connectors.voice.channel.VoiceInput`
(name `voice`): Twilio's "A call comes in" webhook and every follow-up go to
`POST /webhooks/voice/webhook`, call status callbacks to
`POST /webhooks/voice/status`, the agent's whisper before a transfer to
`POST /webhooks/voice/whisper`.

One call is one Rasa conversation (sender id = CallSid). This module is the
I/O around the call flow (`call_flow.py`): it checks each request against
Twilio's `X-Twilio-Signature`, claims and stores each request's answer per
call and step (`store.py`), so a request Twilio re-sends gets the same answer
instead of running the conversation twice, asks the bot within Twilio's
patience (`slow_turns.py`), and renders the decisions as TwiML (`twiml.py`).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator

from bot.domain.emergency import smells_gas
from bot.domain.languages import or_default
from bot.domain.phone import callable_number
from bot.infra.limits import limiter
from bot.infra.network import client_address, trusted_set
from bot.infra.settings import Settings, get_settings
from bot.protocol import PHONE_CONVERSATION
from bot.rasa_runtime import conversation
from bot.rasa_runtime.metrics import TURN_SECONDS, TWILIO_RETRIES
from connectors.collector import ReplyCollector
from connectors.voice import call_flow, twiml
from connectors.voice.call_flow import BotTurn, CallerInput, CallState, PassOn, Step, Texts
from connectors.voice.slow_turns import SlowTurns
from connectors.voice.store import Answer, CallEnded, PhoneStore

logger = logging.getLogger(__name__)

ENDED_STATUSES = {"completed", "busy", "no-answer", "failed", "canceled"}
TurnHandler = Callable[[UserMessage], Awaitable[Any]]


class VoiceReplies(ReplyCollector):
    """Collects one turn's replies; its name selects the `channel: voice` responses."""

    @classmethod
    def name(cls) -> str:
        return "voice"


def twilio_params(request: Request) -> dict[str, str]:
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


def _texts(request: Request) -> Texts:
    return lambda name, language: conversation.domain_text(request, name, language)


def _xml(body: str) -> HTTPResponse:
    return response.text(body, content_type="text/xml; charset=utf-8")


class VoiceInput(InputChannel):
    """Twilio Voice webhooks → Rasa conversations → TwiML."""

    @classmethod
    def name(cls) -> str:
        return "voice"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls(get_settings())

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
        self.slow_turns = SlowTurns(self.store)
        self.trusted = trusted_set(settings.trusted_proxies)
        # Twilio calls from its own addresses: the limit only stops a flood from one.
        self.limiter = limiter(
            settings.redis_url, "voice", settings.voice_requests_per_minute, 60.0
        )

    def _signed(self, request: Request, params: dict[str, str]) -> bool:
        signature = request.headers.get("X-Twilio-Signature", "")
        url = f"{self.settings.voice_base_url}{request.path}"
        if request.query_string:
            url += f"?{request.query_string}"
        return bool(signature) and self.validator.validate(url, params, signature)

    # --- HTTP ---------------------------------------------------------------------------

    def blueprint(self, on_new_message: TurnHandler) -> Blueprint:
        webhook = Blueprint("voice_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            started = time.perf_counter()
            request.ctx.bot_turn = False
            answer = await self._request(request, on_new_message)
            seconds = time.perf_counter() - started
            if request.ctx.bot_turn:  # the caller waited this long for the bot's answer
                TURN_SECONDS.labels("voice").observe(seconds)
            # Server-side time of the turn, for the latency benchmark.
            answer.headers["Server-Timing"] = f"turn;dur={seconds * 1000:.1f}"
            return answer

        @webhook.route("/status", methods=["POST"])
        async def status(request: Request) -> HTTPResponse:
            params = twilio_params(request)
            if not self._signed(request, params):
                return response.text("forbidden", status=403)
            call_sid = params.get("CallSid", "")
            call_status = params.get("CallStatus", "")
            if PHONE_CONVERSATION.fullmatch(call_sid) and call_status in ENDED_STATUSES:
                duration = params.get("CallDuration", "")
                self.slow_turns.forget(call_sid)
                await self.store.end_call(
                    call_sid, call_status, int(duration) if duration.isdigit() else None
                )
            return response.text("", status=204)

        @webhook.route("/whisper", methods=["POST"])
        async def whisper(request: Request) -> HTTPResponse:
            """What the agent hears before a transferred call is connected."""
            params = twilio_params(request)
            if not self._signed(request, params):
                return response.text("forbidden", status=403)
            case_id = re.sub(r"[^A-Z0-9-]", "", request.args.get("case", ""))[:16]
            language = request.args.get("language", "de")
            text = _texts(request)
            if not case_id:  # passed on after a technical problem: nothing was stored
                line = text("utter_voice_whisper_no_case", "de")
            else:
                line = text("utter_voice_whisper", "de").format(
                    case_id=case_id, language=text(f"utter_label_language_{language}", "de")
                )
            return _xml(twiml.announcement([line], "de", self.settings))

        return webhook

    # --- one request --------------------------------------------------------------------

    async def _request(self, request: Request, on_new_message: TurnHandler) -> HTTPResponse:
        """Check, claim, answer and store one webhook request of a call."""
        client = client_address(request.ip, request.headers.get("X-Forwarded-For"), self.trusted)
        if client not in self.trusted and not await self.limiter.allow(client):
            return response.text("too many requests", status=429)
        params = twilio_params(request)
        if not self._signed(request, params):
            return response.text("forbidden", status=403)
        call_sid = params.get("CallSid", "")
        if not PHONE_CONVERSATION.fullmatch(call_sid):
            return response.text("missing or malformed CallSid", status=400)
        if params.get("CallStatus") in ENDED_STATUSES:
            self.slow_turns.forget(call_sid)  # the caller is gone: their slow turns go to no one
        caller = CallerInput.from_twilio(
            request.args.get("step", "start"), request.args.get("turn", "0"), params
        )
        key = f"{caller.step}:{caller.turn}"[:40]
        texts = _texts(request)
        try:
            call = await self.store.begin_turn(call_sid, key, params.get("From"))
        except CallEnded:
            logger.warning("request for an ended call refused call=%s", call_sid)
            return response.text("this call has ended", status=410)
        except Exception:  # noqa: BLE001 - the database is down: the caller must hear why
            logger.exception("voice turn not stored call=%s step=%s", call_sid, caller.step)
            return _xml(self._render(self._technical_problem(None, texts)))
        if call is None:
            # Twilio re-sent a request we are answering or have answered.
            TWILIO_RETRIES.inc()
            stored = await self.store.answer_of(call_sid, key, self.slow_turns.budget)
            return _xml(stored or self._render(call_flow.still_working(caller.turn, texts)))
        try:
            answer = await self._answer(request, on_new_message, call, caller, params, texts)
        except Exception:  # noqa: BLE001 - the caller must hear something
            logger.exception("voice turn failed call=%s step=%s", call_sid, caller.step)
            answer = Answer(self._render(self._failed(call.language, caller.speech, texts)))
        await self.store.save_answer(call_sid, key, answer)
        return _xml(answer.twiml)

    async def _answer(
        self,
        request: Request,
        on_new_message: TurnHandler,
        call: CallState,
        caller: CallerInput,
        params: dict[str, str],
        texts: Texts,
    ) -> Answer:
        if caller.step == "pending":
            parked = await self.slow_turns.answer_of(call.call_sid, caller.turn)
            # Still nothing after two budgets: a person rather than a loop.
            return Answer(parked or await self._pass_on(request, call.call_sid, call.language))
        step = call_flow.on_request(call, caller, texts, self.settings.utility_name)
        if not isinstance(step.decision, BotTurn):
            return self._answer_of(step)
        request.ctx.bot_turn = True
        turn = self._bot_turn(request, on_new_message, step.decision, step, caller, params)
        answer = await self.slow_turns.within_budget(call.call_sid, caller.turn + 1, turn)
        if answer is None:  # parked: the caller hears "one moment"
            waiting = call_flow.slow_reply(step.state, caller, step.decision.language, texts)
            return self._answer_of(waiting, step.changed)
        return answer

    async def _bot_turn(
        self,
        request: Request,
        on_new_message: TurnHandler,
        asked: BotTurn,
        step: Step,
        caller: CallerInput,
        params: dict[str, str],
    ) -> Answer:
        """The bot answers the caller's words; the call flow decides what follows."""
        collector = VoiceReplies()
        call_sid = step.state.call_sid
        caller_number = params.get("From", "")
        metadata = {
            "language": asked.language,
            "channel": "voice",
            "caller": caller_number,
            # failed identity checks and handoff cases count per caller (per call
            # when the number is withheld: all withheld callers are not one source)
            "source": f"voice:{callable_number(caller_number) or call_sid}",
        }
        await on_new_message(
            UserMessage(
                asked.text, collector, call_sid, input_channel=self.name(), metadata=metadata
            )
        )
        line = self._person_line(caller_number)
        texts = _texts(request)
        after = call_flow.on_reply(
            step.state, caller, collector.reply(), asked.language, texts, line
        )
        if isinstance(after.decision, PassOn) and smells_gas(asked.text):
            emergency = self._failed(after.decision.language, asked.text, texts)
            return Answer(self._render(emergency), after.state, step.changed | after.changed)
        if isinstance(after.decision, PassOn):
            twiml_ = await self._pass_on(request, call_sid, after.decision.language)
            return Answer(twiml_, after.state, step.changed | after.changed)
        return self._answer_of(after, step.changed)

    def _answer_of(self, step: Step, changed_before: frozenset[str] = frozenset()) -> Answer:
        """A decision as TwiML, with everything the request changed in the call's state."""
        if isinstance(step.decision, BotTurn | PassOn):
            raise TypeError(f"{step.decision!r} needs the bot or a case first")
        return Answer(self._render(step.decision), step.state, changed_before | step.changed)

    async def _pass_on(self, request: Request, call_sid: str, language: str | None) -> str:
        """The bot cannot serve the call now (its action server failed): a person can,
        while one takes calls (else the caller is asked to call again).

        The case, with what was said so far, is opened here; if even that
        fails the call is still passed on (the agent hears there is no case).
        """
        case_id = ""
        passed_on = self._person_line(None).open_now
        if passed_on:
            try:
                lines = await conversation.transcript(request, call_sid)
                case_id = await self.store.open_case(call_sid, language or "de", lines)
            except Exception:  # noqa: BLE001 - the caller is passed on without a case
                logger.exception("no case for a call after a technical problem call=%s", call_sid)
            logger.info(
                "call passed on after a technical problem call=%s case=%s", call_sid, case_id
            )
        texts = _texts(request)
        return self._render(call_flow.technical_problem(language, texts, passed_on, case_id))

    def _failed(self, language: str | None, speech: str, texts: Texts) -> call_flow.Decision:
        """What a caller hears when the bot failed: a gas smell still gets the emergency line."""
        if smells_gas(speech):
            number, dial = self.settings.emergency_number, self.settings.emergency_dial
            return call_flow.emergency_without_bot(or_default(language), texts, dial, number)
        return self._technical_problem(language, texts)

    def _technical_problem(
        self, language: str | None, texts: Texts, case_id: str = ""
    ) -> call_flow.TechnicalProblem:
        """The apology; a person too, if one can take the call now."""
        passed_on = self._person_line(None).open_now
        return call_flow.technical_problem(language, texts, passed_on, case_id)

    def _person_line(self, caller: str | None) -> call_flow.PersonLine:
        """Whether a person can take a call now; else who is called back."""
        settings = self.settings
        return call_flow.PersonLine(
            connected=twiml.has_agent_line(settings),
            hours=settings.hotline_hours,
            now=settings.now(),
            caller=callable_number(caller),
        )

    def _render(self, decision: call_flow.Decision) -> str:
        return twiml.render(decision, self.settings)
