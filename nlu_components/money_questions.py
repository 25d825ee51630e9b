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

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
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
from nlu_components.word_rules import WordRule, set_intent


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class MoneyQuestionIntent(WordRule, IntentClassifier):
    """Swaps `ask_bill` and `change_advance_payment` when the words say the other one."""

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
            others = {
                item[INTENT_NAME_KEY]: 0.0
                for item in ranking
                if item[INTENT_NAME_KEY] in MONEY_INTENTS and item[INTENT_NAME_KEY] != meant
            }
            set_intent(message, meant, together, others)
        return messages
