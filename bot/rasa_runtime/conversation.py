"""What a channel may read from, or do to, a conversation of the Rasa server it runs in.

Channels answer some requests themselves (bad input, the phone's language
menu and silences) in the customer's language, with the texts of the loaded
model's domain; they hand over a transcript when the bot cannot; and the web
chat gives a conversation back to the bot after an agent. All of that goes
through here, so no channel knows how the dialogue stores its state (which
slot holds the language, which events pause or resume it).
"""

from __future__ import annotations

from typing import Any

from rasa.core.channels.channel import OutputChannel
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    ConversationResumed,
    SlotSet,
    UserUttered,
)
from sanic.request import Request

from bot.domain.languages import known
from bot.domain.responses import response_text
from bot.domain.transcript import transcript as transcript_of
from bot.protocol import typed

LANGUAGE_SLOT = "language"


def _agent(request: Request) -> Any:
    return getattr(request.app.ctx, "agent", None)


def domain_text(request: Request, name: str, language: str) -> str:
    """A response's text from the loaded model's domain, in `language`."""
    agent = _agent(request)
    responses = agent.domain.responses if agent is not None and agent.domain else {}
    return response_text(responses, name, language)


async def _stored_tracker(request: Request, sender_id: str) -> Any:
    """The stored conversation, or None (none yet, or the store is down: callers go on)."""
    agent = _agent(request)
    if agent is None or agent.tracker_store is None:
        return None
    try:
        return await agent.tracker_store.retrieve(sender_id)
    except Exception:  # noqa: BLE001 - the store is down: the caller goes on without
        return None


async def language(request: Request, sender_id: str) -> str | None:
    """The language a stored conversation is held in (None: none yet, or unreadable)."""
    tracker = await _stored_tracker(request, sender_id)
    return known(tracker.get_slot(LANGUAGE_SLOT)) if tracker else None


async def transcript(request: Request, sender_id: str) -> list[dict[str, Any]]:
    """What was said in a stored conversation, for an agent (empty if unreadable)."""
    tracker = await _stored_tracker(request, sender_id)
    return transcript_of(event.as_dict() for event in tracker.events) if tracker else []


async def typed_or_offered(request: Request, sender_id: str, text: str) -> str:
    """`text` as the customer typed it, or unchanged if it is a button the bot just offered."""
    if not text.startswith("/"):
        return text
    tracker = await _stored_tracker(request, sender_id)
    return text if tracker is not None and text in offered_payloads(tracker) else typed(text)


def offered_payloads(tracker: Any) -> set[str]:
    """The payloads of the buttons the bot offered since the customer last wrote."""
    payloads: set[str] = set()
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            break
        if isinstance(event, BotUttered):
            for button in (event.data or {}).get("buttons") or []:
                if isinstance(button, dict) and isinstance(button.get("payload"), str):
                    payloads.add(button["payload"])
    return payloads


async def set_language(request: Request, sender_id: str, value: str) -> None:
    """Hold the conversation in `value` from now on (the customer chose it outside the chat)."""
    agent = _agent(request)
    async with agent.lock_store.lock(sender_id):
        tracker = await agent.processor.fetch_tracker_with_initial_session(sender_id)
        tracker.update(SlotSet(LANGUAGE_SLOT, value), agent.domain)
        await agent.processor.save_tracker(tracker)


async def resume(request: Request, sender_id: str, response: str, output: OutputChannel) -> None:
    """The bot takes a paused conversation back and says `response` into `output`.

    The same steps as Rasa's HTTP API (a `resume` event, then the response
    executed), and then `action_listen`, so the customer's next message is a
    normal turn.
    """
    agent = _agent(request)
    async with agent.lock_store.lock(sender_id):
        processor = agent.processor
        tracker = await processor.fetch_tracker_with_initial_session(sender_id, output)
        tracker.update(ConversationResumed(), agent.domain)
        await processor.save_tracker(tracker)
        await agent.execute_action(sender_id, response, output, None, None)
        tracker = await processor.get_tracker(sender_id)
        tracker.update(ActionExecuted(ACTION_LISTEN_NAME), agent.domain)
        await processor.save_tracker(tracker)
