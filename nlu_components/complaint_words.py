"""A message in a complaint's own words is a `complaint`, unless it is plainly another request.

The classifier takes short outbursts for something else ("Das geht gar
nicht" for deny, "Euer Kundenportal ist eine einzige Katastrophe" for a
general question, "bu ne biçim firma" for out of scope). Words such as
Zumutung, unfreundlich, Saftladen, şikayet, berbat or saygısız belong to
complaints only (bot/domain/complaint_answers.plainly_a_complaint; none
of them occurs in another intent's training data). This component, after the
classifier, makes such a message a complaint, with the confidence the
classifier gave the top intent and complaint together. A self-service
request the classifier is sure of stays what it is: "so ein Mist, seit
Stunden kein Strom" is a fault to report first.
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

from bot.domain.complaint_answers import plainly_a_complaint
from nlu_components.word_rules import WordRule, set_intent

COMPLAINT = "complaint"
#: requests that stay what they are when the classifier is this sure of them
REQUESTS = {
    "report_outage",
    "reconnect_supply",
    "payment_arrangement",
    "change_bank_details",
    "submit_meter_reading",
    "move_house",
    "change_advance_payment",
    "request_human",
    "switch_language",
}
SURE = 0.7


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class ComplaintWordsIntent(WordRule, IntentClassifier):
    """Makes a message in a complaint's own words a complaint."""

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            intent = message.get(INTENT) or {}
            top = intent.get(INTENT_NAME_KEY)
            confidence = float(intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0)
            if top in (None, COMPLAINT) or (top in REQUESTS and confidence >= SURE):
                continue
            if not plainly_a_complaint(message.get(TEXT) or ""):
                continue
            ranking = message.get(INTENT_RANKING_KEY) or []
            own = next(
                (i[PREDICTED_CONFIDENCE_KEY] for i in ranking if i[INTENT_NAME_KEY] == COMPLAINT),
                0.0,
            )
            set_intent(message, COMPLAINT, min(1.0, confidence + own), {top: 0.0})
        return messages
