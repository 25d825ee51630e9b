"""`rasa run` with fixes for how Rasa 3.6 calls the action server and stores conversations.

    python -m bot.rasa_runtime run --model ... (the same arguments as `rasa`; the
    entry point keeps TensorFlow out first: bot/rasa_runtime/__main__.py)

1. Speed: Rasa checks every answer of the action server with
   `jsonschema.validate`, which first checks the schema itself against the
   JSON Schema meta-schema, on every call, and then every event against all
   23 event schemas. Profiling the phone webhook under load showed that this
   took 40 % of the Rasa server's CPU. We keep the check of every answer:
   each event against its own type's schema, the validators built once
   (bot/rasa_runtime/action_answers.py).
2. Failure: when the action server cannot be reached (crashed, restarting,
   overloaded), Rasa logs the error and goes on as if the action had done
   nothing, so the customer gets silence or a question out of place. Instead
   the customer is told there is a technical problem and the bot listens
   again; the conversation's state is unchanged, so once the action server
   is back the next message carries on. The apology is marked
   (`technical_problem`), so the channels can pass the customer to a person
   without the action server (bot/web/chat.py, connectors/voice/channel.py).
3. Database outage: when the tracker store (PostgreSQL) fails, Rasa quietly
   carries on with an empty in-memory conversation, so the customer gets an
   answer that ignores everything said before, and what is said meanwhile is
   lost. Instead the turn fails, and the channel tells the customer there is
   a technical problem; when the database is back, the conversation goes on
   from where it was (SQLAlchemy replaces the broken connections itself).
4. Speed: calls to the action server reuse keep-alive connections
   (bot/rasa_runtime/action_connections.py) instead of opening one per call.
5. Speed: the model's graph runs in a plain loop (bot/rasa_runtime/graph_runner.py)
   instead of through dask, with the same nodes and the same results.
6. Speed: to turn a stored event back into an object, Rasa searches all
   subclasses of `Event` (checking each for abstract methods) for its type
   name, for every event of the conversation on every turn; a type name's
   class is now looked up once.
7. Speed: the SQLite tracker store (the embedded default) keeps its
   connections and writes ahead (bot/rasa_runtime/tracker_sqlite.py).
8. Speed: with ACTIONS=in-process (the default) the custom actions run in
   this process (bot/rasa_runtime/in_process_actions.py), without HTTP.
9. Speed: a turn costs the same on turn 50 as on turn 1. The tracker a turn
   saved is kept for the next read while the database still holds exactly
   its events (bot/rasa_runtime/tracker_cache.py), and what Rasa works out
   from the whole history on every prediction is continued from the last
   time instead of redone (bot/rasa_runtime/history.py); a save writes the
   new events without counting the stored ones first when the cache knows
   how many there are (bot/rasa_runtime/event_writes.py).
10. Safety: Rasa answers nothing in a conversation handed to a person
   (paused) until it is resumed; a message about smelling gas is answered
   all the same, with the emergency instructions only
   (bot/rasa_runtime/emergency_policy.py), and the conversation stays with
   the person.
11. Speed: RulePolicy's search for the rules that fit the conversation reads
   each rule once and compares the latest state only with the rules that
   can fit it (bot/rasa_runtime/rule_matching.py).
12. Metrics: `GET /metrics` for Prometheus (bot/rasa_runtime/metrics.py):
   apologies (2), tracker store failures (3), conversations begun, and the
   channels' turns; with the actions in this process, theirs too.

The launcher starts Rasa through this module; `install()` applies all of
them, and nothing changes when the module is only imported.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

import rasa.core.processor
import rasa.core.run
import rasa.core.tracker_store
import sqlalchemy.event
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction, create_bot_utterance
from rasa.core.tracker_store import FailSafeTrackerStore, SQLTrackerStore
from rasa.core.utils import AvailableEndpoints
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import BotUttered, Event, FollowupAction, UserUttered
from rasa.shared.exceptions import RasaException
from rasa.utils.endpoints import EndpointConfig
from sqlalchemy.engine import Engine

from bot.domain.services.stats import channel_of
from bot.infra.db import write_ahead
from bot.protocol import technical_problem_payload
from bot.rasa_runtime import (
    action_answers,
    event_writes,
    history,
    metrics,
    rule_matching,
    tracker_sqlite,
)
from bot.rasa_runtime.action_connections import close_sessions, pooled_session
from bot.rasa_runtime.emergency_policy import reports_gas_smell
from bot.rasa_runtime.graph_runner import SequentialGraphRunner
from bot.rasa_runtime.in_process_actions import InProcessActions
from bot.rasa_runtime.tracker_cache import TrackerCache

logger = logging.getLogger(__name__)
_rasa_run = RemoteAction.run
_rasa_close_resources = rasa.core.run.close_resources
_rasa_resolve_by_type = Event.resolve_by_type
_rasa_should_handle_message = rasa.core.processor.MessageProcessor._should_handle_message
_rasa_read_endpoints = AvailableEndpoints.read_endpoints.__func__  # type: ignore[attr-defined]
_rasa_configure_app = rasa.core.run.configure_app
_rasa_log_user_message = rasa.core.processor.MessageProcessor._handle_message_with_tracker
_event_classes: dict[str, type[Event]] = {}
_trackers = TrackerCache()


APOLOGY = "utter_technical_problem"


def _apologised_this_turn(tracker: Any) -> bool:
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            return False
        if isinstance(event, BotUttered) and (event.metadata or {}).get("utter_action") == APOLOGY:
            return True
    return False


async def _run_or_apologise(
    action: RemoteAction, output_channel: Any, nlg: Any, tracker: Any, domain: Any
) -> list[Event]:
    """Run a custom action; if the action server fails, apologise (once a turn) and listen."""
    try:
        return await _rasa_run(action, output_channel, nlg, tracker, domain)
    except ActionExecutionRejection:
        raise  # an action declining to run is normal dialogue, not a failure
    except (RasaException, asyncio.TimeoutError) as error:
        logger.error(
            "action server failed running %s (%s); conversation=%s",
            action.name(),
            type(error).__name__,
            tracker.sender_id,
        )
        if _apologised_this_turn(tracker):
            return []
        metrics.APOLOGIES.inc()
        apology = await nlg.generate(APOLOGY, tracker, output_channel.name()) or {}
        # The marker lets a channel offer what needs no action server (the web
        # chat hands over to a person itself).
        marked = {**apology, "custom": technical_problem_payload(), "utter_action": APOLOGY}
        return [create_bot_utterance(marked), FollowupAction(ACTION_LISTEN_NAME)]


class ConversationStoreUnavailable(RasaException):
    """The tracker store failed; the turn cannot be answered with its context."""


async def _retrieve_or_fail(store: FailSafeTrackerStore, sender_id: str) -> Any:
    inner = store._tracker_store
    try:
        if not isinstance(inner, SQLTrackerStore):
            return await inner.retrieve(sender_id)
        tracker = _trackers.get(inner, sender_id)
        if tracker is None:
            tracker = await inner.retrieve(sender_id)
            if tracker is not None:  # a read gives the events it gave
                _trackers.keep(inner, tracker, read_gives=len(tracker.events))
        return tracker
    except Exception as error:
        _trackers.forget(sender_id)
        metrics.TRACKER_STORE_FAILURES.labels("read").inc()
        logger.error(
            "tracker store failed reading conversation=%s: %s", sender_id, type(error).__name__
        )
        raise ConversationStoreUnavailable("the conversation store is unavailable") from error


async def _save_or_fail(store: FailSafeTrackerStore, tracker: Any) -> None:
    inner = store._tracker_store
    try:
        if not isinstance(inner, SQLTrackerStore):
            await inner.save(tracker)
            return
        read_gives = await event_writes.save(inner, tracker, _trackers.stored_events(tracker))
        _trackers.keep(inner, tracker, read_gives)
    except Exception as error:
        _trackers.forget(tracker.sender_id)
        metrics.TRACKER_STORE_FAILURES.labels("save").inc()
        logger.error(
            "tracker store failed saving conversation=%s: %s",
            tracker.sender_id,
            type(error).__name__,
        )
        raise ConversationStoreUnavailable("the conversation store is unavailable") from error


def _resolve_by_type(type_name: str, default: type[Event] | None = None) -> type[Event] | None:
    """Rasa's `Event.resolve_by_type`, remembering the classes it found."""
    found = _event_classes.get(type_name)
    if found is None:
        found = _rasa_resolve_by_type(type_name, default)
        if found is not None and found is not default:
            _event_classes[type_name] = found
    return found


def _should_handle_message(tracker: Any) -> bool:
    """Rasa's rule (not while paused, except a restart), and a gas smell always."""
    return _rasa_should_handle_message(tracker) or reports_gas_smell(tracker)


def _endpoints_with_actions_in_process(
    cls: type[AvailableEndpoints], endpoint_file: str
) -> AvailableEndpoints:
    """The endpoints of `endpoint_file`, with this process as the action endpoint."""
    endpoints = _rasa_read_endpoints(cls, endpoint_file)
    endpoints.action = InProcessActions()
    return endpoints


def _begins_conversation(tracker: Any) -> bool:
    """No customer message yet in this conversation (its events are read only at a
    session's first message)."""
    latest = tracker.latest_message
    if latest is not None and (latest.text is not None or latest.intent_name):
        return False
    return not any(isinstance(event, UserUttered) for event in tracker.events)


async def _log_user_message(processor: Any, message: Any, tracker: Any) -> None:
    """Rasa's logging of a customer's message, counting the conversations it begins."""
    if _begins_conversation(tracker):
        metrics.CONVERSATIONS.labels(channel_of(message.input_channel, message.metadata)).inc()
    await _rasa_log_user_message(processor, message, tracker)


def _configure_app(*args: Any, **kwargs: Any) -> Any:
    """Rasa's Sanic app, with `GET /metrics`."""
    from bot.infra.settings import get_settings

    app = _rasa_configure_app(*args, **kwargs)
    metrics.serve(app, get_settings(), metrics.RUNTIME, metrics.ACTIONS)
    return app


async def _close_resources(app: Any, loop: Any) -> None:
    await close_sessions()
    await _rasa_close_resources(app, loop)


# Every (owner, attribute) that install() replaces, so that whoever must put
# Rasa's own back can (tests: tests/harness/rasa_patches.py). install() also
# adds one SQLAlchemy listener, `write_ahead` on Engine "connect".
REPLACED: tuple[tuple[object, str], ...] = (
    (AvailableEndpoints, "read_endpoints"),
    *metrics.REPLACED,
    *history.REPLACED,
    *rule_matching.REPLACED,
    (EndpointConfig, "session"),
    (rasa.core.run, "close_resources"),
    (rasa.core.run, "configure_app"),
    (rasa.core.processor.MessageProcessor, "_handle_message_with_tracker"),
    (rasa.core.processor, "DaskGraphRunner"),
    (rasa.core.processor.MessageProcessor, "_should_handle_message"),
    (Event, "resolve_by_type"),
    (rasa.core.tracker_store, "create_engine_kwargs"),
    (RemoteAction, "_validate_action_result"),
    (RemoteAction, "run"),
    (FailSafeTrackerStore, "retrieve"),
    (FailSafeTrackerStore, "save"),
)


def install(actions_in_process: bool = False) -> None:
    """Apply the fixes; `actions_in_process`: Rasa runs the custom actions itself."""
    if actions_in_process:
        AvailableEndpoints.read_endpoints = classmethod(_endpoints_with_actions_in_process)  # type: ignore[method-assign]
        metrics.time_actions()
    history.install()
    rule_matching.install()
    EndpointConfig.session = pooled_session  # type: ignore[method-assign]
    rasa.core.run.close_resources = _close_resources
    rasa.core.run.configure_app = _configure_app
    rasa.core.processor.MessageProcessor._handle_message_with_tracker = _log_user_message  # type: ignore[method-assign]
    rasa.core.processor.DaskGraphRunner = SequentialGraphRunner
    rasa.core.processor.MessageProcessor._should_handle_message = staticmethod(  # type: ignore[method-assign]
        _should_handle_message
    )
    Event.resolve_by_type = staticmethod(_resolve_by_type)  # type: ignore[method-assign]
    rasa.core.tracker_store.create_engine_kwargs = tracker_sqlite.engine_kwargs
    if not sqlalchemy.event.contains(Engine, "connect", write_ahead):
        sqlalchemy.event.listen(Engine, "connect", write_ahead)
    RemoteAction._validate_action_result = action_answers.validate  # type: ignore[method-assign]
    RemoteAction.run = _run_or_apologise  # type: ignore[method-assign]
    FailSafeTrackerStore.retrieve = _retrieve_or_fail  # type: ignore[method-assign]
    FailSafeTrackerStore.save = _save_or_fail  # type: ignore[method-assign]


def main() -> None:
    import rasa.utils.io
    from rasa.__main__ import main as rasa_main

    from bot.infra.settings import get_settings

    settings = get_settings()
    install(actions_in_process=settings.actions_in_process)
    if "run" in sys.argv[1:2] and "--auth-token" not in sys.argv:
        # The token protects Rasa's HTTP API. Handed over here, from the
        # environment, it never shows on the process's command line (`ps`).
        sys.argv += ["--auth-token", settings.rasa_auth_token]
    if settings.log_format == "json":
        # Rasa would put its coloured text handler over the JSON one of
        # --logging-config-file; keep the configured handlers instead.
        rasa.utils.io.configure_colored_logging = lambda *_args, **_kwargs: None
    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
