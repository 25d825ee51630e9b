"""Rasa's logistic regression intent classifier, safe for messages with nothing to go on.

`LogisticRegressionClassifier` stacks each featurizer's sentence features into
one row. A message without tokens (empty, only spaces) gets no features from
some featurizers, so its row is shorter than the model's and scikit-learn
raises, which would turn a customer's "" into a server error. A message whose
row is all zeros ("!!!", "…", control characters: nothing the training data
had) would get the classes' priors, the most frequent intent at about 0.45.
Both get no intent and confidence 0 here, so the FallbackClassifier asks what
the customer needs; every other message is classified exactly as by Rasa's
component.
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
)
from rasa.shared.nlu.training_data.message import Message


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LogisticIntentClassifier(LogisticRegressionClassifier):
    """Logistic regression over the sentence features; no intent for a message without any."""

    def _fits(self, message: Message) -> bool:
        """Whether the message has features, as many as the model was trained on."""
        expected = getattr(self.clf, "n_features_in_", None)
        row = self._create_X([message])
        return expected is not None and row.shape[1] == expected and row.nnz > 0

    def process(self, messages: list[Message]) -> list[Message]:
        classifiable = [m for m in messages if self._fits(m)]
        if classifiable:
            super().process(classifiable)
        classified = {id(m) for m in classifiable}
        for message in messages:
            if id(message) not in classified:
                nothing = {INTENT_NAME_KEY: None, PREDICTED_CONFIDENCE_KEY: 0.0}
                message.set(INTENT, nothing, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [], add_to_output=True)
        return messages
