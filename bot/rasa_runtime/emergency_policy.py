"""The dialogue policy that answers a gas smell first, in every state of a conversation.

When the customer's latest message names the hazard `gas_smell` (the NLU
rule in nlu_components/emergency.py), this policy predicts the emergency
action (actions/emergency.py) with full confidence and a priority above
the rule policy (and marked like a form's own prediction, which Rasa
otherwise puts before everything), so it wins over whatever the rules or
an active form would do next: the identity check, a form's next question, a confirmation. After
the emergency action the bot listens. No training data is needed and none
is learned; the policy is in config.yml like the others.

A conversation handed to a person is paused, and Rasa does not answer in a
paused conversation; bot/rasa_runtime/server.py lets a gas-smell message
through (and only that).
"""

from __future__ import annotations

from typing import Any

from rasa.core.constants import POLICY_PRIORITY, RULE_POLICY_PRIORITY
from rasa.core.policies.policy import Policy, PolicyPrediction, SupportedData
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from bot.domain.emergency import GAS_SMELL

ACTION = "action_gas_emergency"
HAZARD = "hazard"


def reports_gas_smell(tracker: DialogueStateTracker) -> bool:
    """Whether the customer's latest message is about smelling gas (as the NLU marked it)."""
    message = tracker.latest_message
    if message is None:
        return False
    return any(
        entity.get("entity") == HAZARD and entity.get("value") == GAS_SMELL
        for entity in message.entities or []
    )


def _actions_since_message(tracker: DialogueStateTracker) -> list[str]:
    """The actions run since the customer's latest message (in a paused conversation the
    message does not follow an `action_listen`)."""
    names: list[str] = []
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            break
        if isinstance(event, ActionExecuted) and event.action_name:
            names.append(event.action_name)
    return names[::-1]


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True
)
class EmergencyPolicy(Policy):
    """Predicts the gas emergency answer after a gas-smell message, then listening."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {POLICY_PRIORITY: RULE_POLICY_PRIORITY + 1}

    @staticmethod
    def supported_data() -> SupportedData:
        return SupportedData.ML_AND_RULE_DATA

    def train(
        self, training_trackers: list[TrackerWithCachedStates], domain: Domain, **kwargs: Any
    ) -> Resource:
        """Nothing to learn; the resource is written so the model loads it like any policy."""
        with self._model_storage.write_to(self._resource):
            pass
        return self._resource

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        if not reports_gas_smell(tracker) or ACTION not in domain.action_names_or_texts:
            return self._prediction(probabilities)
        answered = _actions_since_message(tracker)
        if not answered:
            probabilities[domain.index_for_action(ACTION)] = 1.0
        elif answered == [ACTION]:
            probabilities[domain.index_for_action(ACTION_LISTEN_NAME)] = 1.0
        else:
            return self._prediction(probabilities)
        # Rasa's ensemble lets an active form's "no user" prediction overrule every
        # prediction made from the user's message; marked the same way, ours competes
        # with it, and wins by priority.
        return self._prediction(probabilities, is_no_user_prediction=True)
