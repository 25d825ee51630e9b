"""RulePolicy finds the same rules with bot.rasa_runtime.rule_matching as with Rasa's search.

Real German and Turkish conversations with the trained model: after every
turn, the states the rule policy predicts from (with and without the text
of the last message), against both of its rule tables. Rasa's search gets
the whole history; ours the window the policies get (bot/rasa_runtime/history.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from rasa.core.agent import Agent
from rasa.core.policies.rule_policy import RULES, RULES_FOR_LOOP_UNHAPPY_PATH, RulePolicy
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rasa_runtime import history, rule_matching
from tests.harness.rasa_patches import put_back_afterwards
from tests.unit.test_history import CONVERSATIONS, demo_data, load


def rule_policy(agent: Agent) -> RulePolicy:
    nodes = agent.processor.graph_runner._instantiated_nodes  # type: ignore[union-attr]
    found = [n._component for n in nodes.values() if isinstance(n._component, RulePolicy)]
    assert len(found) == 1
    return found[0]


@contextlib.contextmanager
def whole_history() -> Iterator[None]:
    """States from Rasa's own code: every applied event replayed, no window."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DialogueStateTracker, "applied_events", history.rasa_applied_events)
        patch.setattr(Domain, "states_for_tracker_history", history.rasa_states_for_tracker_history)
        yield


def check(policy: RulePolicy, domain: Domain, tracker: DialogueStateTracker) -> int:
    """Compare both searches on this turn; how many rules fitted."""
    fitted = 0
    for use_text in (False, True):
        flags = {"rule_only_data": policy._get_rule_only_data()}
        windowed = policy._prediction_states(tracker, domain, use_text, **flags)
        with whole_history():
            everything = policy._prediction_states(tracker, domain, use_text, **flags)
        for table in (RULES, RULES_FOR_LOOP_UNHAPPY_PATH):
            lookup = policy.lookup[table]
            ours = rule_matching.possible_keys(policy, lookup, windowed)
            assert ours == rule_matching._rasa_get_possible_keys(policy, lookup, everything)
            assert ours == rule_matching._rasa_get_possible_keys(policy, lookup, windowed)
            fitted += len(ours)
    return fitted


@pytest.mark.parametrize("language", ["de", "tr"])
def test_every_turn_finds_the_rules_rasa_finds(tmp_path: Path, language: str) -> None:
    with pytest.MonkeyPatch.context() as patch, demo_data(tmp_path) as work:
        put_back_afterwards(patch, history.REPLACED + rule_matching.REPLACED)
        history.install()
        agent = load(work, f"rules-{language}")
        policy = rule_policy(agent)
        sender = f"rules-{language}"

        async def converse() -> int:
            fitted = 0
            for text in CONVERSATIONS[language]:
                await agent.handle_text(text, sender_id=sender)
                tracker = await agent.tracker_store.retrieve(sender)
                fitted += check(policy, agent.domain, tracker)
            return fitted

        assert asyncio.run(converse()) > len(CONVERSATIONS[language])  # rules did fit


def test_a_rule_table_is_read_once_per_policy(tmp_path: Path) -> None:
    with demo_data(tmp_path) as work:
        policy = rule_policy(load(work, "once"))
    lookup = policy.lookup[RULES]
    first = rule_matching._compiled(policy, lookup)
    assert rule_matching._compiled(policy, lookup) is first
    assert len(first.rules) == len(lookup)
    assert sum(len(rules) for rules in first.after.values()) == len(lookup)


# --- every kind of feature, on made-up rules ---------------------------------------------

NOT_SET = "should_not_be_set"
CHOICES = {
    "prev_action": {"action_name": ["action_listen", "utter_greet", "identity_form"]},
    "user": {"intent": ["greet", "faq", "deny"], "entities": [("customer_number",), ()]},
    "slots": {"language": [(1.0,), (0.0,), NOT_SET], "verified_customer": [(1.0,), NOT_SET]},
    "active_loop": {"name": ["identity_form", NOT_SET]},
}


def made_up_state(rng: random.Random, first: bool) -> dict:
    state: dict = {}
    for state_type, features in CHOICES.items():
        if state_type == "prev_action" and first and rng.random() < 0.5:
            continue  # the conversation's (or rule's) first state has no previous action
        chosen = {
            name: rng.choice(values) for name, values in features.items() if rng.random() < 0.6
        }
        if chosen:
            state[state_type] = chosen
    return state


def made_up_states(rng: random.Random, most: int) -> list[dict]:
    length = rng.randint(1, most)
    return [made_up_state(rng, number == 0) for number in range(length)]


def test_made_up_rules_fit_as_in_rasa() -> None:
    rng = random.Random(2026)
    policy = RulePolicy.__new__(RulePolicy)  # the search needs none of the policy's state
    checked = fitted = 0
    for _ in range(40):
        lookup = {json.dumps(made_up_states(rng, 4)): "utter_x" for _ in range(60)}
        for _ in range(25):
            states = made_up_states(rng, 6)
            ours = rule_matching.possible_keys(policy, lookup, states)
            assert ours == rule_matching._rasa_get_possible_keys(policy, lookup, states)
            checked += 1
            fitted += len(ours)
    assert checked == 1000 and fitted > 100
