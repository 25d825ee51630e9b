"""What a channel may read from the Rasa server it runs in.

Channels answer some requests themselves (bad input, the phone's language
menu and silences) in the customer's language, with the texts of the loaded
model's domain, and sometimes need a slot of the conversation (its language,
the question being asked). Both come from the agent Rasa keeps on the app.
"""

from __future__ import annotations

from typing import Any

from sanic.request import Request

from bot.responses import response_text
from bot.services import handoff


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


async def conversation_slots(
    request: Request, sender_id: str, names: tuple[str, ...]
) -> dict[str, Any]:
    """Slots of a stored conversation, read once (empty if there is none)."""
    tracker = await _stored_tracker(request, sender_id)
    return {name: tracker.get_slot(name) for name in names} if tracker else {}


async def conversation_transcript(request: Request, sender_id: str) -> list[dict[str, Any]]:
    """What was said in a stored conversation, for an agent (empty if unreadable)."""
    tracker = await _stored_tracker(request, sender_id)
    return handoff.transcript(event.as_dict() for event in tracker.events) if tracker else []
