"""The base of the NLU components that decide by the words alone.

They learn nothing and have no settings: Rasa creates them with `create`,
and they change what the trained components found (`process`) when the
words say plainly what a message is. `set_intent` is how they make a
message another intent.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
)
from rasa.shared.nlu.training_data.message import Message


class WordRule(GraphComponent):
    """A component without training or settings."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> GraphComponent:
        return cls()


def set_intent(
    message: Message, meant: str, confidence: float, confidences: dict[str, float]
) -> None:
    """Make `meant` the message's intent with `confidence`; `confidences` are new values for
    other intents of the ranking (an intent missing from the ranking is added)."""
    wanted = {**confidences, meant: confidence}
    ranking = [
        {**item, PREDICTED_CONFIDENCE_KEY: wanted[item[INTENT_NAME_KEY]]}
        if item[INTENT_NAME_KEY] in wanted
        else item
        for item in message.get(INTENT_RANKING_KEY) or []
    ]
    named = {item[INTENT_NAME_KEY] for item in ranking}
    ranking += [
        {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: value}
        for name, value in wanted.items()
        if name not in named
    ]
    ranking.sort(key=lambda item: item[PREDICTED_CONFIDENCE_KEY], reverse=True)
    message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
    intent = message.get(INTENT) or {}
    message.set(
        INTENT,
        {**intent, INTENT_NAME_KEY: meant, PREDICTED_CONFIDENCE_KEY: confidence},
        add_to_output=True,
    )
