"""A turn's cost that does not grow with the conversation: Rasa's history work, done incrementally.

Rasa 3.6 goes back to the conversation's first event several times per turn:

- `applied_events()` folds every event into the list of those still in effect
  (rewinds and repeated form turns removed), for each prediction;
- `Domain.states_for_tracker_history()` (what every policy predicts from)
  replays every applied event into a fresh tracker and builds a state at each
  action, for each policy and prediction;
- `tracker.copy()` replays every event into a new tracker before each action;
- `current_state(ALL)` turns every event into a dict for each custom action;
- the trackers for validating the slots a message fills and for each form
  turn are built by replaying every event plus a few new ones.

So turn 50 cost about twice turn 1. Here each of them keeps what it worked out
on the tracker object (in memos no event ever sees) and, when the tracker has
only grown since, continues from there: the results are the same values Rasa
computes, for the cost of the new events.

- Applied events: the fold's list is kept with the number of events it has
  consumed; new events continue the fold. The fold depends on the names of all
  forms in the conversation, so a new form name starts it again.
- States: the replay tracker, the states and the loop's variables are kept,
  with a snapshot of the replay at each of the last `CHECKPOINTS` actions. A
  repeated form turn or a rewind removes applied events near the end; the
  replay then continues from the last snapshot before the change instead of
  the beginning. The state after the last event is computed afresh each time.
  The policies get the latest `WINDOW` states, which decide their predictions
  (Rasa hands them all and they go through all, twice per prediction).
- Copies copy the tracker's state (slots, form, latest message and action)
  and the event list instead of replaying every event; the memos go along.
- Serialised events are kept up to the customer's latest message (later ones
  may still change within the turn) and only newer ones are serialised again.
- The validation and form trackers are copies with the new events applied
  (a replay still where a restart cut the history or the slots differ).

Tests compare every result with Rasa's own on real conversations
(tests/unit/test_history.py).
"""

from __future__ import annotations

import copy
import operator
from collections import deque
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from rasa.core.actions.action import ActionExtractSlots
from rasa.core.actions.forms import FormAction
from rasa.shared.core.constants import (
    ACTION_VALIDATE_SLOT_MAPPINGS,
    PREVIOUS_ACTION,
    REQUESTED_SLOT,
)
from rasa.shared.core.domain import Domain, State
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    Event,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.slots import Slot
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity

#: snapshots of the replay kept for the latest actions (a form turn goes back one or two)
CHECKPOINTS = 24
#: States handed to the policies: the latest ones. RulePolicy compares a rule's
#: states with as many of the latest (our longest rule has 4), MemoizationPolicy
#: looks at `max_history` (4); both give the same prediction from any longer
#: tail of the history (tests/unit/test_history.py checks the trained model).
WINDOW = 16
_APPLIED = "_history_applied"
_STATES = "_history_states"
_SERIALISED = "_history_serialised"
_MEMOS = (_APPLIED, _STATES, _SERIALISED)

# Rasa's own versions (the tests compare with them)
rasa_applied_events = DialogueStateTracker.applied_events
rasa_copy = DialogueStateTracker.copy
rasa_current_state = DialogueStateTracker.current_state
rasa_states_for_tracker_history = Domain.states_for_tracker_history
rasa_execute_validation_action = ActionExtractSlots._execute_validation_action
rasa_temporary_tracker = FormAction._temporary_tracker
_rasa_from_events = DialogueStateTracker.from_events


def _prefix_intact(events: deque, count: int, last: Event | None) -> bool:
    """`events` still starts with the `count` events seen, the last of them `last`."""
    return len(events) >= count and (count == 0 or events[count - 1] is last)


def _common_prefix(old: list[Event], new: list[Event]) -> int:
    """How many leading events `old` and `new` share (the same objects)."""
    shared = min(len(old), len(new))
    if all(map(operator.is_, islice(old, shared), islice(new, shared))):
        return shared
    return next(i for i in range(shared) if old[i] is not new[i])


# --- applied events -------------------------------------------------------------------


def _form_name(event: Event) -> str | None:
    return event.name if isinstance(event, ActiveLoop) and event.name else None


@dataclass
class _Applied:
    events: deque
    forms: set[str]
    consumed: int = 0
    last: Event | None = None
    applied: list[Event] = field(default_factory=list)

    def fold(self, tracker: DialogueStateTracker, events: list[Event]) -> None:
        """Rasa's rules for which events stay in effect, applied to `events` in order."""
        for event in events:
            if isinstance(event, (Restarted, SessionStarted)):
                self.applied = []
            elif isinstance(event, ActionReverted):
                tracker._undo_till_previous(ActionExecuted, self.applied)
            elif isinstance(event, UserUtteranceReverted):
                tracker._undo_till_previous(UserUttered, self.applied)
                tracker._undo_till_previous(ActionExecuted, self.applied)
            elif (
                isinstance(event, ActionExecuted)
                and event.action_name in self.forms
                and not tracker._first_loop_execution_or_unhappy_path(
                    event.action_name, self.applied
                )
            ):
                tracker._undo_till_previous_loop_execution(event.action_name, self.applied)
            else:
                self.applied.append(event)
        self.consumed += len(events)
        if events:
            self.last = events[-1]


def applied_events(self: DialogueStateTracker) -> list[Event]:
    """The events in effect (Rasa's `applied_events`), folding only the new ones."""
    memo: _Applied | None = self.__dict__.get(_APPLIED)
    events = self.events
    if (
        memo is not None
        and memo.events is events
        and _prefix_intact(events, memo.consumed, memo.last)
    ):
        new = list(islice(events, memo.consumed, None))
        if all(_form_name(e) in memo.forms for e in new if _form_name(e)):
            memo.fold(self, new)
            return list(memo.applied)
    everything = list(events)
    memo = _Applied(events, {name for e in everything if (name := _form_name(e))})
    memo.fold(self, everything)
    self.__dict__[_APPLIED] = memo
    return list(memo.applied)


# --- states -----------------------------------------------------------------------------


@dataclass
class _Walk:
    """The loop variables of Rasa's `states_for_tracker_history`."""

    states: list[State] = field(default_factory=list)
    last_ml_action: dict | None = None
    hidden: bool = False


@dataclass
class _Snapshot:
    """The replay tracker and the walk just before the applied event at `position`."""

    position: int
    attributes: dict[str, Any]
    slots: dict[str, tuple[Any, bool]]
    states: int
    last_ml_action: dict | None
    hidden: bool


@dataclass
class _States:
    domain: Domain
    rule_only_data: dict | None
    replay: DialogueStateTracker
    applied: list[Event] = field(default_factory=list)
    walk: _Walk = field(default_factory=_Walk)
    snapshots: deque = field(default_factory=lambda: deque(maxlen=CHECKPOINTS))


def _state_at(
    domain: Domain,
    replay: DialogueStateTracker,
    hide_rule_turn: bool,
    walk: _Walk,
    omit_unset_slots: bool,
    ignore_rule_only_turns: bool,
    rule_only_data: dict | None,
) -> None:
    """One step of Rasa's loop: the state before an action (or at the end), added to `walk`."""
    if ignore_rule_only_turns:
        if not walk.hidden:
            walk.last_ml_action = domain._get_prev_action_sub_state(replay)
        if not replay.followup_action and replay.latest_action_name != replay.active_loop_name:
            walk.hidden = hide_rule_turn
        if walk.hidden:
            return
    state = domain.get_active_state(replay, omit_unset_slots=omit_unset_slots)
    if ignore_rule_only_turns:
        domain._remove_rule_only_features(state, rule_only_data)
        if walk.states:
            domain._substitute_rule_only_user_input(state, walk.states[-1])
        if walk.last_ml_action:
            state[PREVIOUS_ACTION] = walk.last_ml_action
    walk.states.append(domain._clean_state(state))


def _frozen(rule_only_data: dict[str, Any] | None) -> tuple | None:
    if rule_only_data is None:
        return None
    return tuple((key, tuple(values)) for key, values in sorted(rule_only_data.items()))


def _snapshot(replay: DialogueStateTracker, position: int, walk: _Walk) -> _Snapshot:
    attributes = {k: v for k, v in replay.__dict__.items() if k not in ("events", "slots")}
    attributes["active_loop"] = copy.copy(replay.active_loop)
    slots = {name: (slot._value, slot._has_been_set) for name, slot in replay.slots.items()}
    return _Snapshot(
        position, attributes, slots, len(walk.states), walk.last_ml_action, walk.hidden
    )


def _restore(memo: _States, snapshot: _Snapshot) -> None:
    """Put the replay and the walk back to `snapshot`."""
    replay = memo.replay
    replay.__dict__.update(snapshot.attributes)
    replay.active_loop = copy.copy(snapshot.attributes["active_loop"])
    for name, (value, has_been_set) in snapshot.slots.items():
        slot = replay.slots[name]
        slot._value, slot._has_been_set = value, has_been_set
    replay.events = replay._create_events(memo.applied[: snapshot.position])
    del memo.walk.states[snapshot.states :]
    memo.walk.last_ml_action, memo.walk.hidden = snapshot.last_ml_action, snapshot.hidden


def states_for_tracker_history(
    self: Domain,
    tracker: DialogueStateTracker,
    omit_unset_slots: bool = False,
    ignore_rule_only_turns: bool = False,
    rule_only_data: dict[str, Any] | None = None,
) -> list[State]:
    """Rasa's states of the tracker's history, replaying only what changed since the last call."""
    memos: dict = tracker.__dict__.setdefault(_STATES, {})
    # RulePolicy passes a new dict of the same rule-only slots and forms each time
    key = (id(self), omit_unset_slots, ignore_rule_only_turns, _frozen(rule_only_data))
    memo: _States | None = memos.get(key)
    applied = tracker.applied_events()
    start = 0
    if memo is not None and memo.domain is not self:
        memo = None  # another model's domain (a reloaded model, its id reused)
    if memo is not None:
        start = _common_prefix(memo.applied, applied)
        if start < len(memo.applied):
            while memo.snapshots and memo.snapshots[-1].position > start:
                memo.snapshots.pop()
            if memo.snapshots:
                snapshot = memo.snapshots.pop()
                _restore(memo, snapshot)
                start = snapshot.position
            else:
                memo = None
    if memo is None:
        memo = _States(self, rule_only_data, tracker.init_copy())
        memos[key] = memo
        start = 0
    memo.applied = applied
    for position in range(start, len(applied)):
        event = applied[position]
        if isinstance(event, ActionExecuted):
            memo.snapshots.append(_snapshot(memo.replay, position, memo.walk))
            _state_at(
                self,
                memo.replay,
                event.hide_rule_turn,
                memo.walk,
                omit_unset_slots,
                ignore_rule_only_turns,
                rule_only_data,
            )
        memo.replay.update(event)
    walk = memo.walk
    final = _Walk(walk.states[-(WINDOW - 1) :], walk.last_ml_action, walk.hidden)
    _state_at(
        self, memo.replay, False, final, omit_unset_slots, ignore_rule_only_turns, rule_only_data
    )
    return final.states


# --- copies and serialisation -----------------------------------------------------------

_COPY_HOOKS = ("__copy__", "__reduce__", "__reduce_ex__", "__getstate__", "__setstate__")
_plain_classes: dict[type, bool] = {}


def _plain(cls: type) -> bool:
    """Whether `copy.copy` of a `cls` object is a new object with the same `__dict__`."""
    known = _plain_classes.get(cls)
    if known is None:
        known = all(
            not any(hook in vars(base) for hook in _COPY_HOOKS)
            and not getattr(base, "__slots__", ())
            for base in cls.__mro__[:-1]
        )
        _plain_classes[cls] = known
    return known


def _copied(slot: Any) -> Any:
    """`copy.copy(slot)`, without going through pickling's protocol for plain objects."""
    cls = type(slot)
    if not _plain(cls):
        return copy.copy(slot)
    twin = cls.__new__(cls)
    twin.__dict__.update(slot.__dict__)
    return twin


def copy_tracker(self: DialogueStateTracker) -> DialogueStateTracker:
    """A duplicate of the tracker (Rasa replays every event into a new one; the same result)."""
    twin = copy.copy(self)
    for name in _MEMOS:
        twin.__dict__.pop(name, None)
    twin.events = self._create_events(list(self.events))
    twin.slots = {name: _copied(slot) for name, slot in self.slots.items()}
    twin.active_loop = copy.copy(self.active_loop)
    if isinstance(self.latest_action, dict):
        twin.latest_action = dict(self.latest_action)
    memo: _Applied | None = self.__dict__.get(_APPLIED)
    if memo is not None and memo.events is self.events:
        twin.__dict__[_APPLIED] = _Applied(
            twin.events, set(memo.forms), memo.consumed, memo.last, list(memo.applied)
        )
    serialised: _Serialised | None = self.__dict__.get(_SERIALISED)
    if serialised is not None and serialised.events is self.events:
        twin.__dict__[_SERIALISED] = _Serialised(
            twin.events, serialised.count, serialised.last, serialised.dicts
        )
    return twin


@dataclass
class _Serialised:
    events: deque
    count: int
    last: Event | None
    dicts: list[dict[str, Any]]


def _serialised_events(tracker: DialogueStateTracker) -> list[dict[str, Any]]:
    """Every event as a dict; those before the customer's latest message from the memo."""
    events = tracker.events
    memo: _Serialised | None = tracker.__dict__.get(_SERIALISED)
    if (
        memo is None
        or memo.events is not events
        or not _prefix_intact(events, memo.count, memo.last)
    ):
        memo = _Serialised(events, 0, None, [])
    newer = list(islice(events, memo.count, None))
    fresh = [event.as_dict() for event in newer]
    settled = next(
        (i for i in range(len(newer) - 1, -1, -1) if isinstance(newer[i], UserUttered)), 0
    )
    if settled:
        memo = _Serialised(
            events, memo.count + settled, newer[settled - 1], memo.dicts + fresh[:settled]
        )
        tracker.__dict__[_SERIALISED] = memo
        return memo.dicts + fresh[settled:]
    tracker.__dict__[_SERIALISED] = memo
    return memo.dicts + fresh


def current_state(
    self: DialogueStateTracker, event_verbosity: EventVerbosity = EventVerbosity.NONE
) -> dict[str, Any]:
    """Rasa's `current_state`; with every event, serialising only the newer ones."""
    if event_verbosity != EventVerbosity.ALL:
        return rasa_current_state(self, event_verbosity)
    state = rasa_current_state(self, EventVerbosity.NONE)
    state["events"] = _serialised_events(self)
    return state


# --- temporary trackers ----------------------------------------------------------------


def tracker_with(
    tracker: DialogueStateTracker, more: list[Event], slots: list[Slot]
) -> DialogueStateTracker:
    """What Rasa builds as `DialogueStateTracker.from_events(tracker.sender_id,
    tracker.events_after_latest_restart() + more, slots=slots)`, from a copy.

    Rasa replays the whole conversation for this, twice a turn (to validate the
    slots a message fills, and in each form turn); a copy of the tracker has the
    same state when no restart cut its events and its slots are the domain's.
    """
    if (
        tracker._max_event_history is not None
        or any(isinstance(event, Restarted) for event in tracker.events)
        or len(tracker.slots) != len(slots)
        or any(slot.name not in tracker.slots for slot in slots)
    ):
        return _rasa_from_events(
            tracker.sender_id, tracker.events_after_latest_restart() + more, slots=slots
        )
    twin = copy_tracker(tracker)
    # what a new tracker starts with (from_events gives it none of these)
    twin.sender_source = None
    twin.is_rule_tracker = False
    twin.model_id = None
    twin.assistant_id = None
    for event in more:
        twin.update(event)
    return twin


async def _execute_validation_action(
    self: ActionExtractSlots,
    extraction_events: list[Event],
    output_channel: Any,
    nlg: Any,
    tracker: DialogueStateTracker,
    domain: Domain,
) -> list[Event]:
    """Rasa's `ActionExtractSlots._execute_validation_action`, its tracker built by `tracker_with`."""
    slot_events = [event for event in extraction_events if isinstance(event, SlotSet)]
    if ACTION_VALIDATE_SLOT_MAPPINGS not in domain.user_actions:
        return list(slot_events)
    validating = tracker_with(tracker, list(slot_events), domain.slots)
    validate_events = await self._run_custom_action(
        ACTION_VALIDATE_SLOT_MAPPINGS, output_channel, nlg, validating, domain
    )
    validated = {event.key for event in validate_events if isinstance(event, SlotSet)}
    # an extracted slot the action said nothing about is valid (Rasa's rule)
    return validate_events + [event for event in slot_events if event.key not in validated]


def _temporary_tracker(
    self: FormAction,
    current_tracker: DialogueStateTracker,
    additional_events: list[Event],
    domain: Domain,
) -> DialogueStateTracker:
    """Rasa's `FormAction._temporary_tracker`, built by `tracker_with`."""
    marks = [
        SlotSet(REQUESTED_SLOT, self.get_slot_to_fill(current_tracker)),
        ActionExecuted(self.name()),
    ]
    return tracker_with(current_tracker, marks + additional_events, domain.slots)


#: the methods `install` replaces (tests put Rasa's own back afterwards)
REPLACED = (
    (ActionExtractSlots, "_execute_validation_action"),
    (FormAction, "_temporary_tracker"),
    (DialogueStateTracker, "applied_events"),
    (DialogueStateTracker, "copy"),
    (DialogueStateTracker, "current_state"),
    (Domain, "states_for_tracker_history"),
)


def install() -> None:
    ActionExtractSlots._execute_validation_action = _execute_validation_action  # type: ignore[method-assign]
    FormAction._temporary_tracker = _temporary_tracker  # type: ignore[method-assign]
    DialogueStateTracker.applied_events = applied_events  # type: ignore[method-assign]
    DialogueStateTracker.copy = copy_tracker  # type: ignore[method-assign]
    DialogueStateTracker.current_state = current_state  # type: ignore[method-assign]
    Domain.states_for_tracker_history = states_for_tracker_history  # type: ignore[method-assign]
