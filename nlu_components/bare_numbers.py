"""A message that is only a five-digit number is a postcode, for the NLU.

Without words around it, "30000" may be a postcode or a meter reading: only
the question the bot asked tells, and the NLU does not see it. The entity
extractor still has to give the number one name, and a learned one flips
between training runs (round numbers looked like readings to one model and
like postcodes to the next). This rule makes it the same every time: the
whole message five digits, and its entity is `postcode` (the training data
says so too, data/nlu/*/core.yml). The forms read the value they asked for
from the text, so a bare meter reading still lands as a meter reading.
"""

from __future__ import annotations

import re

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from nlu_components.word_rules import WordRule

FIVE_DIGITS = re.compile(r"\d{5}")
POSTCODE = "postcode"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class BareNumberEntities(WordRule, EntityExtractorMixin):
    """Names the entity of a message that is nothing but five digits `postcode`."""

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            stripped = text.strip()
            if not FIVE_DIGITS.fullmatch(stripped):
                continue
            start = text.index(stripped)
            entity = {
                ENTITY_ATTRIBUTE_TYPE: POSTCODE,
                ENTITY_ATTRIBUTE_VALUE: stripped,
                ENTITY_ATTRIBUTE_START: start,
                ENTITY_ATTRIBUTE_END: start + len(stripped),
                EXTRACTOR: self.__class__.__name__,
            }
            message.set(ENTITIES, [entity], add_to_output=True)
        return messages
