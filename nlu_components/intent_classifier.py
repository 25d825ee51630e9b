"""Rasa's logistic regression intent classifier, safe for messages with nothing to go on.

`LogisticRegressionClassifier` stacks each featurizer's sentence features into
one row. A message without tokens (empty, only spaces) gets no features from
some featurizers, so its row is shorter than the model's and scikit-learn
raises, which would turn a customer's "" into a server error. A message whose
row is all zeros ("!!!", "…", control characters: nothing the training data
had) would get the classes' priors, the most frequent intent at about 0.45.
Both get no intent and confidence 0 here, so the FallbackClassifier asks what
the customer needs.

A retrieval intent is learnt per topic: `faq` spans twelve unlike subjects
(opening hours, payment methods, energy saving, ...), and one linear class
for all of them lies close to everything else (a question about paying is
nearer `ask_bill` than `faq/energy_saving`). The classifier learns
`faq/payment_methods`, `faq/energy_saving`, ... as classes of their own and
reports their summed probability as `faq`, the intent Rasa and the dialogue
know; the ResponseSelector still picks the topic.
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    INTENT_RESPONSE_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.utils.tensorflow.constants import RANKING_LENGTH
from scipy.sparse import csr_matrix, vstack


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LogisticIntentClassifier(LogisticRegressionClassifier):
    """Logistic regression over the sentence features; no intent for a message without any."""

    def _create_training_matrix(self, training_data: TrainingData) -> tuple[csr_matrix, list[str]]:
        """(X, y) with a retrieval intent's examples labelled by their topic (`faq/portal`)."""
        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        labels = [e.get(INTENT_RESPONSE_KEY) or e.get(INTENT) for e in examples]
        return self._create_X(examples), labels

    @staticmethod
    def _by_intent(classes: list[str], probabilities: list[float]) -> dict[str, float]:
        """Probabilities per intent: a retrieval intent's topics summed (`faq/portal` → `faq`)."""
        summed: dict[str, float] = {}
        for name, confidence in zip(classes, probabilities, strict=True):
            intent = name.split("/", 1)[0]
            summed[intent] = summed.get(intent, 0.0) + float(confidence)
        return summed

    def process(self, messages: list[Message]) -> list[Message]:
        expected = self.clf.n_features_in_
        rows = [(message, self._create_X([message])) for message in messages]
        usable = [(m, row) for m, row in rows if row.shape[1] == expected and row.nnz > 0]
        if usable:
            probabilities = self.clf.predict_proba(vstack([row for _, row in usable]))
            for (message, _), row_probabilities in zip(usable, probabilities, strict=True):
                summed = self._by_intent(list(self.clf.classes_), list(row_probabilities))
                ranking = sorted(
                    (
                        {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: confidence}
                        for name, confidence in summed.items()
                    ),
                    key=lambda item: -item[PREDICTED_CONFIDENCE_KEY],
                )
                message.set(INTENT, ranking[0], add_to_output=True)
                message.set(INTENT_RANKING_KEY, ranking[: self.ranking_length], add_to_output=True)
        classified = {id(m) for m, _ in usable}
        for message in messages:
            if id(message) not in classified:
                nothing = {INTENT_NAME_KEY: None, PREDICTED_CONFIDENCE_KEY: 0.0}
                message.set(INTENT, nothing, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [], add_to_output=True)
        return messages

    @property
    def ranking_length(self) -> int | None:
        """How many intents the ranking keeps (Rasa's `ranking_length`; 0 keeps all)."""
        return self.config[RANKING_LENGTH] or None
