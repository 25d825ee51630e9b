"""A question about the advance payment is `ask_bill`, a change of it `change_advance_payment`.

The two intents share their words (Abschlag, monatlich, aylık ödeme), and the
classifier sometimes takes "Was zahle ich im Monat?" for a change or "bitte
monatlich mehr abbuchen" for a question. This component, after the
classifier, swaps the two when the message says plainly which it is: a
question word and no change (bot/domain/bill_questions.py, the same check the
actions make), or the advance payment named with a change verb or an amount.
It swaps them in the ranking too, so the confidence the fallback sees is the
classifier's own for the top intent. Nothing else is touched.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from bot.domain.bill_questions import corrected_intent


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class MoneyQuestionIntent(GraphComponent, IntentClassifier):
    """Swaps `ask_bill` and `change_advance_payment` when the words say the other one."""

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
    ) -> MoneyQuestionIntent:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            intent = message.get(INTENT) or {}
            predicted = intent.get(INTENT_NAME_KEY)
            meant = corrected_intent(predicted, message.get(TEXT) or "")
            if meant is None:
                continue
            message.set(INTENT, {**intent, INTENT_NAME_KEY: meant}, add_to_output=True)
            ranking = message.get(INTENT_RANKING_KEY) or []
            names = {predicted: meant, meant: predicted}
            swapped = [{**item, "name": names.get(item["name"], item["name"])} for item in ranking]
            message.set(INTENT_RANKING_KEY, swapped, add_to_output=True)
        return messages
