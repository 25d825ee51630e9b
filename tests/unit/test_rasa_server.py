"""The Rasa entry point's check of action server answers (bot.rasa_runtime.server)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import rasa.core.processor
import rasa.core.run
import rasa.core.tracker_store
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import (
    ActionExecuted,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
    deserialise_events,
)
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import text
from sqlalchemy.pool import QueuePool

from bot.rasa_runtime import action_answers, server, tracker_sqlite
from tests.harness.rasa_patches import put_back_afterwards, remove_listener


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[RemoteAction]]:
    put_back_afterwards(monkeypatch)  # Rasa's own methods again after the test
    server.install()
    yield RemoteAction
    remove_listener()


def test_replaced_names_everything_install_replaces() -> None:
    """server.REPLACED is complete: nothing else of its owners changes."""
    owners = {id(owner): owner for owner, _ in server.REPLACED}
    with pytest.MonkeyPatch.context() as patch:
        put_back_afterwards(patch)
        before = {key: dict(vars(owner)) for key, owner in owners.items()}
        server.install(actions_in_process=True)
        changed = {
            (key, name)
            for key, owner in owners.items()
            for name, value in vars(owner).items()
            if before[key].get(name, object()) is not value
        }
    remove_listener()
    assert changed == {(id(owner), name) for owner, name in server.REPLACED}


def action() -> RemoteAction:
    return RemoteAction("action_show_bill", None)


def test_valid_answers_pass(installed: type[RemoteAction]) -> None:
    answer = {
        "events": [{"event": "slot", "name": "language", "value": "tr"}],
        "responses": [{"response": "utter_greet"}],
    }
    assert action()._validate_action_result(answer) is True
    assert action()._validate_action_result({}) is True


@pytest.mark.parametrize(
    "answer",
    [
        {"events": "not a list"},
        {"events": [{"event": "no_such_event"}]},
        {"responses": ["not an object"]},
        [],
    ],
)
def test_invalid_answers_fail_like_rasas_check(
    installed: type[RemoteAction], answer: object
) -> None:
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        action()._validate_action_result(answer)  # type: ignore[arg-type]


def test_the_validators_are_built_once(installed: type[RemoteAction]) -> None:
    for _ in range(3):
        action()._validate_action_result({"events": []})
        with pytest.raises(ValidationError):
            action()._validate_action_result({"events": "not a list"})
    for built in (action_answers.by_event_type, action_answers.whole_schema):
        assert built.cache_info().currsize == 1
        assert built.cache_info().hits >= 2


@pytest.mark.parametrize(
    ("type_name", "expected"),
    [
        ("user", UserUttered),
        ("action", ActionExecuted),
        ("slot", SlotSet),
        ("session_started", SessionStarted),
    ],
)
def test_event_types_resolve_to_rasas_classes(
    installed: type[RemoteAction], type_name: str, expected: type[Event]
) -> None:
    for _ in range(2):  # found, then remembered
        assert Event.resolve_by_type(type_name) is expected


def test_unknown_event_types_behave_as_in_rasa(installed: type[RemoteAction]) -> None:
    assert Event.resolve_by_type("no-such-event", default=SlotSet) is SlotSet
    assert Event.resolve_by_type("topic") is None
    with pytest.raises(ValueError, match="Unknown event name"):
        Event.resolve_by_type("no-such-event")


def test_stored_conversations_deserialise_the_same(installed: type[RemoteAction]) -> None:
    events = [
        ActionExecuted("action_session_start"),
        SessionStarted(),
        UserUttered("Hallo", {"name": "greet", "confidence": 0.9}),
        SlotSet("language", "de"),
        ActionExecuted("utter_greet"),
    ]
    stored = [event.as_dict() for event in events]
    assert deserialise_events(stored) == events


def test_sqlite_tracker_files_get_a_pool_others_keep_rasas_settings() -> None:
    assert tracker_sqlite.engine_kwargs("sqlite:////var/lib/rasa.db")["poolclass"] is QueuePool
    assert tracker_sqlite.engine_kwargs("sqlite://") == {}  # in memory: one connection
    assert "pool_size" in tracker_sqlite.engine_kwargs("postgresql://rasa@db/rasa")


def test_the_sqlite_tracker_store_keeps_connections_and_writes_ahead(
    installed: type[RemoteAction], tmp_path: Path
) -> None:
    store = rasa.core.tracker_store.SQLTrackerStore(dialect="sqlite", db=str(tmp_path / "t.db"))
    assert isinstance(store.engine.pool, QueuePool)
    tracker = DialogueStateTracker.from_events(
        "sqlite-test", [ActionExecuted("action_listen"), UserUttered("Hallo")]
    )
    asyncio.run(store.save(tracker))
    stored = asyncio.run(store.retrieve("sqlite-test"))
    assert stored is not None and stored.latest_message.text == "Hallo"
    with store.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    store.engine.dispose()
