"""What the Rasa processes and the web app count when it happens (bot/rasa_runtime/metrics.py,
bot/rasa_runtime/server.py, bot/web/metrics.py), without servers."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionExecutionRejection, ActionNotFoundException
from sqlalchemy import update
from sqlalchemy.orm import Session

from bot.domain.models import HandoffCase, utcnow
from bot.domain.services import agent_queue, agents, handoff, stats
from bot.infra.settings import load_settings
from bot.rasa_runtime import metrics, server
from bot.rasa_runtime.in_process_actions import InProcessActions
from bot.web.metrics import Metrics
from tests.harness import sample_actions


def value(name: str, **labels: str) -> float:
    """A sample of the Rasa process's registries (0 when it does not exist yet)."""
    for registry in (metrics.RUNTIME, metrics.ACTIONS):
        found = registry.get_sample_value(name, labels)
        if found is not None:
            return found
    return 0.0


def tracker(*events: Any) -> DialogueStateTracker:
    return DialogueStateTracker.from_events("metrics-test", list(events))


def user(text: str) -> UserUttered:
    return UserUttered(text, {"name": "greet", "confidence": 1.0})


SESSION = (
    ActionExecuted("action_session_start"),
    SessionStarted(),
    ActionExecuted("action_listen"),
)


def test_a_conversation_begins_with_its_first_customer_message_not_a_new_session() -> None:
    assert server._begins_conversation(tracker(*SESSION))
    assert not server._begins_conversation(tracker(*SESSION, user("Hallo")))
    # a new session (the old one expired) is the same conversation
    assert not server._begins_conversation(tracker(*SESSION, user("Hallo"), *SESSION))


@pytest.mark.parametrize(
    ("input_channel", "metadata", "channel"),
    [
        ("rest", None, "rest"),
        ("voice", {"channel": "voice", "caller": "+4915100000000"}, "voice"),
        ("web", {"channel": "web"}, "web"),
        ("rest", {"channel": "app"}, "rest"),  # not a channel of ours: counted as REST
    ],
)
def test_conversations_are_counted_once_by_channel(
    monkeypatch: pytest.MonkeyPatch, input_channel: str, metadata: Any, channel: str
) -> None:
    logged: list[str] = []

    async def rasas_own(_processor: Any, message: UserMessage, _tracker: Any) -> None:
        logged.append(message.text or "")

    monkeypatch.setattr(server, "_rasa_log_user_message", rasas_own)
    before = value("stadtwerk_conversations_total", channel=channel)
    message = UserMessage(
        "Hallo", CollectingOutputChannel(), "c", input_channel=input_channel, metadata=metadata
    )
    asyncio.run(server._log_user_message(None, message, tracker(*SESSION)))
    asyncio.run(server._log_user_message(None, message, tracker(*SESSION, user("Hallo"))))
    assert value("stadtwerk_conversations_total", channel=channel) == before + 1
    assert logged == ["Hallo", "Hallo"]


class Broken(InMemoryTrackerStore):
    async def retrieve(self, sender_id: str) -> Any:
        raise ConnectionError("the database is gone")

    async def save(self, tracker: Any) -> None:
        raise ConnectionError("the database is gone")


def test_tracker_store_failures_are_counted_by_operation() -> None:
    store = FailSafeTrackerStore(Broken(Domain.empty()))
    before = {
        op: value("stadtwerk_tracker_store_failures_total", operation=op) for op in ("read", "save")
    }
    with pytest.raises(server.ConversationStoreUnavailable):
        asyncio.run(server._retrieve_or_fail(store, "c"))
    with pytest.raises(server.ConversationStoreUnavailable):
        asyncio.run(server._save_or_fail(store, tracker(*SESSION)))
    with pytest.raises(server.ConversationStoreUnavailable):
        asyncio.run(server._save_or_fail(store, tracker(*SESSION)))
    assert value("stadtwerk_tracker_store_failures_total", operation="read") == before["read"] + 1
    assert value("stadtwerk_tracker_store_failures_total", operation="save") == before["save"] + 2


DOMAIN = Domain.from_dict(
    {
        "responses": {"utter_technical_problem": [{"text": "Ein technisches Problem."}]},
        "actions": ["action_sample_crash"],
    }
)


def test_an_apology_is_counted_once_a_turn() -> None:
    crashing = RemoteAction("action_sample_crash", InProcessActions(sample_actions))
    nlg = TemplatedNaturalLanguageGenerator(DOMAIN.responses)
    conversation = tracker(*SESSION, user("Hallo"))
    before = value("stadtwerk_apologies_total")
    output = CollectingOutputChannel()
    apology = asyncio.run(server._run_or_apologise(crashing, output, nlg, conversation, DOMAIN))
    assert apology[0].metadata["utter_action"] == "utter_technical_problem"
    assert value("stadtwerk_apologies_total") == before + 1
    conversation.update(apology[0])
    assert asyncio.run(server._run_or_apologise(crashing, output, nlg, conversation, DOMAIN)) == []
    assert value("stadtwerk_apologies_total") == before + 1


def call(name: str) -> dict[str, Any]:
    return {"next_action": name, "tracker": {"sender_id": "c", "slots": {}, "events": []}}


def test_actions_are_timed_and_their_failures_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ActionExecutor, "run", ActionExecutor.run)
    metrics.time_actions()
    executor = ActionExecutor()
    executor.register_package(sample_actions)

    def counts(action: str) -> tuple[float, float]:
        return (
            value("stadtwerk_action_seconds_count", action=action),
            value("stadtwerk_action_failures_total", action=action),
        )

    greet, crash, reject = (
        counts(a) for a in ("action_sample_greet", "action_sample_crash", "action_sample_reject")
    )
    asyncio.run(executor.run(call("action_sample_greet")))
    with pytest.raises(RuntimeError):
        asyncio.run(executor.run(call("action_sample_crash")))
    with pytest.raises(ActionExecutionRejection):
        asyncio.run(executor.run(call("action_sample_reject")))
    with pytest.raises(ActionNotFoundException):
        asyncio.run(executor.run(call("action_nobody")))
    assert counts("action_sample_greet") == (greet[0] + 1, greet[1])
    assert counts("action_sample_crash") == (crash[0] + 1, crash[1] + 1)
    assert counts("action_sample_reject") == (reject[0] + 1, reject[1])  # dialogue, not a failure
    # an unknown name (anybody's text) never becomes a label
    labels = {s.labels.get("action") for f in metrics.ACTIONS.collect() for s in f.samples}
    assert "action_sample_greet" in labels and "action_nobody" not in labels


def open_case(session: Session, conversation: str) -> str:
    return handoff.open_case(
        session,
        conversation_id=conversation,
        reason="customer_request",
        language="de",
        channel="web",
        customer_number=None,
        transcript=[],
    ).case_id


def test_a_claim_says_how_long_the_case_waited_once(session: Session) -> None:
    agent = agents.create_agent(
        session, username="wait", first_name="Wera", last_name="Wartet", password="wait-pass-12345"
    )
    case_id = open_case(session, "conv-wait")
    opened = dt.datetime(2026, 1, 5, 9, 0, 0)
    session.execute(update(HandoffCase).values(created_at=opened))
    first = agent_queue.take(session, case_id, agent.id)
    assert first.waited is not None and first.waited > dt.timedelta(days=1)
    again = agent_queue.take(session, case_id, agent.id)  # the agent already has it
    assert again.waited is None and again.summary.case_id == case_id


def test_the_web_app_exports_the_queue_and_the_promise(session: Session, database_url: str) -> None:
    settings = load_settings().replace(database_url=database_url, handoff_wait_minutes=7)
    web = Metrics(settings, live_chats=lambda: 0)
    registry = web.registry
    assert registry.get_sample_value("stadtwerk_handoff_promised_wait_seconds") == 420
    assert registry.get_sample_value("stadtwerk_handoff_oldest_wait_seconds") == 0
    open_case(session, "conv-oldest")
    session.execute(update(HandoffCase).values(created_at=utcnow() - dt.timedelta(minutes=9)))
    session.commit()
    assert registry.get_sample_value("stadtwerk_handoff_oldest_wait_seconds") >= 540
    assert registry.get_sample_value("stadtwerk_handoff_queue", {"status": "open"}) == 1
    web.handoff_wait_seconds.observe(400)
    assert registry.get_sample_value("stadtwerk_handoff_wait_seconds_bucket", {"le": "300.0"}) == 0
    assert registry.get_sample_value("stadtwerk_handoff_wait_seconds_bucket", {"le": "420.0"}) == 1


def test_fallbacks_are_exported_per_language(session: Session, database_url: str) -> None:
    stats.count(session, "fallbacks", "tr")
    stats.count(session, "fallbacks")  # counted before the language label
    session.commit()
    registry = Metrics(load_settings().replace(database_url=database_url), lambda: 0).registry
    sample = registry.get_sample_value
    assert sample("stadtwerk_fallbacks_total", {"language": "tr"}) == 1
    assert sample("stadtwerk_fallbacks_total", {"language": "de"}) == 0
    assert sample("stadtwerk_fallbacks_total", {"language": "unknown"}) == 1
