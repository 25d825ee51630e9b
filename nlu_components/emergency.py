"""A message about smelling gas is a `report_outage` with the hazard named, in every model.

The words decide (bot/domain/emergency.py), not the classifier: the intent
becomes `report_outage` with full confidence, and the entity `hazard` with
the value `gas_smell` (over the whole message, in place of any other
entity) says why, so the dialogue policy
(bot/rasa_runtime/emergency_policy.py) answers with the safety instructions
before anything else, whatever the conversation was doing.
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from bot.domain.emergency import GAS_SMELL, smells_gas
from nlu_components.word_rules import WordRule

INTENT_NAME = "report_outage"
HAZARD = "hazard"


@DefaultV1Recipe.register(
    [
        DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER,
        DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR,
    ],
    is_trainable=False,
)
class GasEmergency(WordRule, IntentClassifier, EntityExtractorMixin):
    """Marks messages about smelling gas: intent report_outage, entity hazard=gas_smell."""

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if not smells_gas(text):
                continue
            ranking = [
                item
                for item in message.get(INTENT_RANKING_KEY) or []
                if item.get(INTENT_NAME_KEY) != INTENT_NAME
            ]
            top = {INTENT_NAME_KEY: INTENT_NAME, PREDICTED_CONFIDENCE_KEY: 1.0}
            message.set(INTENT, top, add_to_output=True)
            message.set(
                INTENT_RANKING_KEY,
                [top, *({**item, PREDICTED_CONFIDENCE_KEY: 0.0} for item in ranking)],
                add_to_output=True,
            )
            hazard = {
                ENTITY_ATTRIBUTE_TYPE: HAZARD,
                ENTITY_ATTRIBUTE_VALUE: GAS_SMELL,
                ENTITY_ATTRIBUTE_START: len(text) - len(text.lstrip()),
                ENTITY_ATTRIBUTE_END: len(text.rstrip()),
                EXTRACTOR: self.__class__.__name__,
            }
            # The other values of the message are of no use now (the emergency ends
            # any form that would read them); the hazard names the whole message.
            message.set(ENTITIES, [hazard], add_to_output=True)
        return messages
