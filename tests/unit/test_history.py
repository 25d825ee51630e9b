"""The incremental history (bot.rasa_runtime.history) gives Rasa's own results.

Real conversations with the trained model, in German and Turkish, through
forms, interruptions, a fallback, a handoff and a restart: after every turn
the applied events, the states for every policy setting, copies and the
serialised tracker are compared with what Rasa's own code computes from the
first event. Then the same conversations run on a second agent with Rasa's
own code throughout, and both must have done and said exactly the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rasa.core.actions.forms import FormAction
from rasa.core.agent import Agent
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity

from bot.infra import db
from bot.rasa_runtime import history, rule_matching
from bot.rasa_runtime.in_process_actions import InProcessActions
from tests.harness.rasa_patches import put_back_afterwards
from tests.harness.servers import MODEL, demo_database

CONVERSATIONS = {
    "de": [
        "Hallo",
        "Ich habe eine Frage zu meiner Rechnung",
        "10000011",
        "Wie sind Ihre Öffnungszeiten?",  # a question in the middle of the identity check
        "45130",
        "05.10.1940",
        "Ich möchte meinen Abschlag ändern",
        "85 €",
        "nein",
        "asdfghjkl qwertz",
        "Was kostet Ökostrom?",
        "nein",
        "/restart",
        "Ich möchte meinen Zählerstand melden",
        "abbrechen",
        "Danke, tschüss",
    ],
    "tr": [
        "Merhaba",
        "faturamı öğrenmek istiyorum",
        "10000006",
        "44139",
        "14.02.1992",
        "aylık ödememi değiştirmek istiyorum",
        "70 avro",
        "evet",
        "çalışma saatleriniz nedir",
        "bir temsilciyle görüşmek istiyorum",
    ],
}


# request ids (uuid4 hex) and case references (H-1A2B3C4D) are random in every run
RANDOM_ID = re.compile(r"\b[0-9a-f]{32}\b|\b[A-Z]{1,2}-[0-9A-F]{8}\b")


@contextlib.contextmanager
def demo_data(work: Path) -> Iterator[Path]:
    """A fresh demo database in `work`, the actions' database while the block runs."""
    url = demo_database(work / "stadtwerk.db")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_URL", url)
        db.get_engine.cache_clear()
        db._session_factory.cache_clear()
        yield work
    db.get_engine(url).dispose()
    db.get_engine.cache_clear()
    db._session_factory.cache_clear()


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Path]:
    with demo_data(tmp_path) as work:
        yield work


def load(work: Path, name: str) -> Agent:
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make setup` first")
    return Agent.load(
        str(MODEL),
        action_endpoint=InProcessActions(),
        tracker_store=SQLTrackerStore(dialect="sqlite", db=str(work / f"{name}.db")),
        lock_store=InMemoryLockStore(),
    )


@pytest.fixture
def patched() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        put_back_afterwards(patch, history.REPLACED + rule_matching.REPLACED)
        history.install()
        yield


def rasas_states(domain: Domain, tracker: DialogueStateTracker, **flags: Any) -> list:
    """Rasa's own states: every applied event replayed from the first."""
    original = DialogueStateTracker.applied_events
    DialogueStateTracker.applied_events = history.rasa_applied_events  # type: ignore[method-assign]
    try:
        return history.rasa_states_for_tracker_history(domain, tracker, **flags)
    finally:
        DialogueStateTracker.applied_events = original  # type: ignore[method-assign]


RULE_ONLY = {"rule_only_slots": ["next_action"], "rule_only_loops": []}
#: how the policies ask (MemoizationPolicy; RulePolicy with and without rule-only turns)
POLICY_FLAGS = [
    {"omit_unset_slots": False, "ignore_rule_only_turns": False, "rule_only_data": RULE_ONLY},
    {"omit_unset_slots": False, "ignore_rule_only_turns": True, "rule_only_data": RULE_ONLY},
]
EVERY_FLAG = [
    {"omit_unset_slots": omit, "ignore_rule_only_turns": ignore, "rule_only_data": data}
    for omit in (False, True)
    for ignore in (False, True)
    for data in (None, RULE_ONLY)
]


def check_against_rasa(
    agent: Agent, tracker: DialogueStateTracker, every_flag: bool = False
) -> None:
    domain = agent.domain
    assert tracker.applied_events() == history.rasa_applied_events(tracker)
    for flags in EVERY_FLAG if every_flag else POLICY_FLAGS:
        flags = {**flags, "rule_only_data": json.loads(json.dumps(flags["rule_only_data"]))}
        ours = domain.states_for_tracker_history(tracker, **flags)
        theirs = rasas_states(domain, tracker, **flags)
        assert ours == theirs[-history.WINDOW :], flags
    everything = history.rasa_current_state(tracker, EventVerbosity.ALL)
    assert tracker.current_state(EventVerbosity.ALL) == everything
    twin = tracker.copy()
    assert history.rasa_current_state(twin, EventVerbosity.ALL) == everything
    replayed = history.rasa_copy(tracker)
    assert twin.slots.keys() == replayed.slots.keys()
    for name, slot in replayed.slots.items():
        assert (twin.slots[name].value, twin.slots[name].has_been_set) == (
            slot.value,
            slot.has_been_set,
        ), name
    for attribute in ("active_loop", "latest_action", "followup_action", "_paused"):
        assert getattr(twin, attribute) == getattr(replayed, attribute), attribute
    # a copy goes on on its own: the original is untouched
    twin.update(SlotSet("language", "de"))
    assert len(twin.events) == len(tracker.events) + 1
    assert tracker.applied_events() == history.rasa_applied_events(tracker)
    check_temporary_tracker(domain, tracker)


TRACKER_ATTRIBUTES = (
    "active_loop",
    "latest_action",
    "followup_action",
    "_paused",
    "latest_message",
    "latest_bot_utterance",
    "sender_source",
    "is_rule_tracker",
    "model_id",
    "assistant_id",
    "_max_event_history",
)


def check_temporary_tracker(domain: Domain, tracker: DialogueStateTracker) -> None:
    """The tracker a slot validation or a form turn works on is the one Rasa replays."""
    more = [SlotSet("requested_slot", "customer_number"), ActionExecuted("identity_form")]
    ours = history.tracker_with(tracker, more, domain.slots)
    theirs = DialogueStateTracker.from_events(
        tracker.sender_id, tracker.events_after_latest_restart() + more, slots=domain.slots
    )
    state = history.rasa_current_state(theirs, EventVerbosity.ALL)
    assert history.rasa_current_state(ours, EventVerbosity.ALL) == state
    assert ours.current_state(EventVerbosity.ALL) == state
    for attribute in TRACKER_ATTRIBUTES:
        assert getattr(ours, attribute) == getattr(theirs, attribute), attribute
    assert {name: (s.value, s.has_been_set) for name, s in ours.slots.items()} == {
        name: (s.value, s.has_been_set) for name, s in theirs.slots.items()
    }
    assert ours.applied_events() == history.rasa_applied_events(theirs)
    assert len(tracker.events) + len(more) >= len(ours.events)  # the original is untouched


def what_happened(tracker: DialogueStateTracker) -> list[tuple]:
    """The conversation without times: actions, texts, slots, intents."""
    seen: list[tuple] = []
    for event in tracker.events:
        if isinstance(event, ActionExecuted):
            seen.append(("action", event.action_name))
        elif isinstance(event, BotUttered):
            said = f"{event.text} {json.dumps(event.data, sort_keys=True)}"
            seen.append(("bot", RANDOM_ID.sub("<id>", said)))
        elif isinstance(event, UserUttered):
            seen.append(("user", event.text, event.intent_name))
        elif isinstance(event, SlotSet):
            value = json.dumps(event.value, default=str)
            seen.append(("slot", event.key, RANDOM_ID.sub("<id>", value)))
        else:
            seen.append((event.type_name,))
    return seen


def converse(agent: Agent, sender: str, language: str, check: bool) -> DialogueStateTracker:
    async def run() -> DialogueStateTracker:
        texts = CONVERSATIONS[language]
        for number, text in enumerate(texts, 1):
            await agent.handle_text(text, sender_id=sender)
            tracker = await agent.tracker_store.retrieve(sender)
            if check:  # every way of asking at the end (the longest history)
                check_against_rasa(agent, tracker, every_flag=number == len(texts))
        return await agent.tracker_store.retrieve(sender)

    return asyncio.run(run())


@pytest.mark.parametrize("language", ["de", "tr"])
def test_every_turn_matches_rasas_own_history(database: Path, patched: None, language: str) -> None:
    agent = load(database, f"check-{language}")
    tracker = converse(agent, f"history-{language}", language, check=True)
    assert len(tracker.events) > 30


@pytest.mark.parametrize("language", ["de", "tr"])
def test_the_conversation_is_the_same_as_with_rasas_own_code(tmp_path: Path, language: str) -> None:
    (tmp_path / "rasa").mkdir()
    (tmp_path / "ours").mkdir()
    assert DialogueStateTracker.copy is history.rasa_copy  # Rasa's own code, nothing patched
    assert FormAction._temporary_tracker is history.rasa_temporary_tracker
    with demo_data(tmp_path / "rasa") as work:
        rasas = what_happened(converse(load(work, "rasa"), "same", language, False))
    with pytest.MonkeyPatch.context() as patch, demo_data(tmp_path / "ours") as work:
        put_back_afterwards(patch, history.REPLACED + rule_matching.REPLACED)
        history.install()
        rule_matching.install()
        ours = what_happened(converse(load(work, "ours"), "same", language, False))
    assert ours == rasas


def test_the_window_covers_every_rule_and_the_memory_of_the_model(tmp_path: Path) -> None:
    """The policies predict from the latest WINDOW states: longer than any rule they know."""
    import tarfile

    with tarfile.open(MODEL) as archive:
        lookup = None
        for member in archive.getmembers():
            if member.name.endswith("rule_policy.json"):
                lookup = json.load(archive.extractfile(member))["lookup"]  # type: ignore[arg-type]
    assert lookup is not None
    longest = max(
        len(json.loads(key))
        for table in ("rules", "rules_for_loop_unhappy_path")
        for key in lookup[table]
    )
    assert longest < history.WINDOW
    policies = {p["name"]: p for p in _config()["policies"]}
    assert policies["MemoizationPolicy"]["max_history"] < history.WINDOW


def _config() -> dict:
    import yaml

    return yaml.safe_load((MODEL.parent.parent / "config.yml").read_text("utf-8"))
