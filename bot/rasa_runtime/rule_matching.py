"""RulePolicy's search for the rules that fit the conversation, with each rule read once.

For every prediction Rasa's `RulePolicy._get_possible_keys` goes through all
learned rules for each state of the conversation, newest first, and for each
rule and state parses the rule's JSON key again (from a cache), reverses its
states into a new list and compares the features, also for the states older
than the rule is long (where every rule fits). Here each rule is read once, per
lookup table, into its states' checks, and filed under the previous action its
newest state requires; the latest state is compared only with the rules filed
under its previous action or under none, an older state only with the rules
that long, and the search stops at the length of the longest rule still in
play. The rules found are the same (tests/unit/test_rule_matching.py compares
both on real conversations).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rasa.core.policies.rule_policy import RulePolicy
from rasa.shared.core.constants import PREVIOUS_ACTION, SHOULD_NOT_BE_SET
from rasa.shared.core.domain import State
from rasa.shared.nlu.constants import ACTION_NAME

_rasa_get_possible_keys = RulePolicy._get_possible_keys
_COMPILED = "_rule_matching_compiled"

#: (state type, feature, value): the conversation must have the value; for
#: `SHOULD_NOT_BE_SET`, it must have none (Rasa: `_does_rule_match_state`)
Check = tuple[str, str, Any]


@dataclass(frozen=True)
class _Step:
    """One state of a rule, newest first."""

    starts_conversation: bool  # no previous action: the conversation's first state
    checks: tuple[Check, ...]


@dataclass(frozen=True)
class _Rule:
    key: str
    steps: tuple[_Step, ...]


def _step(state: State) -> _Step:
    checks: list[Check] = []
    for state_type, features in state.items():
        for name, value in features.items():
            if isinstance(value, list):
                value = tuple(value)  # JSON gave back a tuple as a list
            if value:  # an empty or false value asks for nothing
                checks.append((state_type, name, value))
    return _Step(not state.get(PREVIOUS_ACTION), tuple(checks))


@dataclass(frozen=True)
class _Table:
    """A lookup table's rules, by the previous action their newest state requires."""

    rules: list[_Rule]
    after: dict[str | None, list[_Rule]]  # None: rules that require no particular one


def _required_action(step: _Step) -> str | None:
    for state_type, name, value in step.checks:
        if (state_type, name) == (PREVIOUS_ACTION, ACTION_NAME) and value != SHOULD_NOT_BE_SET:
            return value
    return None


def _compiled(policy: RulePolicy, lookup: dict[str, Any]) -> _Table:
    """The rules of `lookup`, read once per policy and table."""
    tables: dict[int, tuple[dict[str, Any], _Table]] = policy.__dict__.setdefault(_COMPILED, {})
    known = tables.get(id(lookup))
    if known is None or known[0] is not lookup or len(known[1].rules) != len(lookup):
        rules = [
            _Rule(key, tuple(_step(state) for state in reversed(json.loads(key)))) for key in lookup
        ]
        after: dict[str | None, list[_Rule]] = {None: []}
        for rule in rules:
            required = _required_action(rule.steps[0]) if rule.steps else None
            after.setdefault(required, []).append(rule)
        known = (lookup, _Table(rules, after))
        tables[id(lookup)] = known
    return known[1]


def _fits(step: _Step, state: State) -> bool:
    """Rasa's `_is_rule_applicable` for a state the rule is long enough to have."""
    if step.starts_conversation or not state.get(PREVIOUS_ACTION):
        return step.starts_conversation and not state.get(PREVIOUS_ACTION)
    for state_type, name, value in step.checks:
        present = state.get(state_type, {}).get(name)
        if value == SHOULD_NOT_BE_SET:
            if present and present != SHOULD_NOT_BE_SET:
                return False
        elif present != value:
            return False
    return True


def possible_keys(self: RulePolicy, lookup: dict[str, Any], states: list[State]) -> set[str]:
    """`RulePolicy._get_possible_keys`: the keys of the rules that fit `states`."""
    table = _compiled(self, lookup)
    candidates = table.rules
    if states:  # a rule that requires another previous action cannot fit the latest state
        latest = (states[-1].get(PREVIOUS_ACTION) or {}).get(ACTION_NAME)
        candidates = table.after[None] + (table.after.get(latest, []) if latest else [])
    longest = max((len(rule.steps) for rule in candidates), default=0)
    for index, state in enumerate(reversed(states)):
        if index >= longest:
            break  # every rule left is shorter than the history checked: all fit
        candidates = [
            rule
            for rule in candidates
            if index >= len(rule.steps) or _fits(rule.steps[index], state)
        ]
        longest = max((len(rule.steps) for rule in candidates), default=0)
    return {rule.key for rule in candidates}


#: what `install` replaces (tests put Rasa's own back afterwards)
REPLACED = ((RulePolicy, "_get_possible_keys"),)


def install() -> None:
    RulePolicy._get_possible_keys = possible_keys  # type: ignore[method-assign]
