"""A question about the advance payment is `ask_bill`, a change of it `change_advance_payment`.

The two intents share their words (Abschlag, monatlich, aylık ödeme), and the
classifier sometimes takes "Was zahle ich im Monat?" for a change or "bitte
monatlich mehr abbuchen" for a question, or cannot decide between them ("Mein
Stromabschlag soll höher werden": 0.54 against 0.46, which the fallback would
ask about). This component, after the classifier, settles it when the message
says plainly which it is (bot/domain/bill_questions.plainly_meant, the same
check the actions make: a question word and no change, or the advance payment
named with a change verb or an amount): the meant intent gets the confidence
the classifier gave the two together, the other none. Messages whose top
intent is neither, or whose words do not say, are left as they are.
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
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from bot.domain.bill_questions import MONEY_INTENTS, plainly_meant


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
            if intent.get(INTENT_NAME_KEY) not in MONEY_INTENTS:
                continue
            meant = plainly_meant(message.get(TEXT) or "")
            if meant is None:
                continue
            ranking = message.get(INTENT_RANKING_KEY) or []
            together = sum(
                item[PREDICTED_CONFIDENCE_KEY]
                for item in ranking
                if item[INTENT_NAME_KEY] in MONEY_INTENTS
            )
            settled = [
                {
                    **item,
                    PREDICTED_CONFIDENCE_KEY: (together if item[INTENT_NAME_KEY] == meant else 0.0),
                }
                if item[INTENT_NAME_KEY] in MONEY_INTENTS
                else item
                for item in ranking
            ]
            settled.sort(key=lambda item: item[PREDICTED_CONFIDENCE_KEY], reverse=True)
            message.set(INTENT_RANKING_KEY, settled, add_to_output=True)
            message.set(
                INTENT,
                {**intent, INTENT_NAME_KEY: meant, PREDICTED_CONFIDENCE_KEY: together},
                add_to_output=True,
            )
        return messages
