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
know. The same probabilities, within `faq`, rank the topics: the classifier
answers in the ResponseSelector's form (`response_selector`: the best topic
with its responses, and the ranking), so no second model (Rasa's
ResponseSelector is a TensorFlow network) is trained, loaded or run.

Speed: Rasa builds the classifier's input by deep-copying and stacking each
featurizer's sparse matrices (about 4 ms a message); here the features'
columns and values index the weights directly, the same arithmetic as
scikit-learn's `predict_proba` (tests/unit/test_intent_classifier.py
compares them).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.nlu.constants import (
    RESPONSE_SELECTOR_PREDICTION_KEY,
    RESPONSE_SELECTOR_PROPERTY_NAME,
    RESPONSE_SELECTOR_RANKING_KEY,
    RESPONSE_SELECTOR_RETRIEVAL_INTENTS,
)
from rasa.shared.nlu.constants import (
    FEATURE_TYPE_SENTENCE,
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
from scipy.sparse import csr_matrix
from scipy.special import softmax

#: topics kept in the ranking (the ResponseSelector's default)
TOPICS_RANKED = 10
ANSWERS_FILE = "retrieval_answers.json"
WEIGHTS_FILE = "weights.npz"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LogisticIntentClassifier(LogisticRegressionClassifier):
    """Logistic regression over the sentence features; no intent for a message without any."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: a retrieval intent's responses by topic (`utter_faq/portal`), for the topic answer
        self.answers: dict[str, list[dict[str, Any]]] = {}

    def train(self, training_data: TrainingData) -> Resource:
        topics = {key for e in training_data.intent_examples if (key := e.get(INTENT_RESPONSE_KEY))}
        self.answers = {
            f"utter_{key}": training_data.responses.get(f"utter_{key}", []) for key in topics
        }
        return super().train(training_data)

    def persist(self) -> None:
        """The weights as plain arrays (no pickled objects) and the topics' answers."""
        with self._model_storage.write_to(self._resource) as model_dir:
            np.savez(
                model_dir / WEIGHTS_FILE,
                coef=self.clf.coef_,
                intercept=self.clf.intercept_,
                classes=np.array([str(name) for name in self.clf.classes_]),
            )
            (model_dir / ANSWERS_FILE).write_text(json.dumps(self.answers), encoding="utf-8")

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> LogisticIntentClassifier:
        """The trained classifier. Its weights are read as arrays: Rasa's own format
        (skops) searches every loaded module for each class it restores, which would
        load TensorFlow (bot/rasa_runtime/lazy_tensorflow.py)."""
        component = cls(config, execution_context.node_name, model_storage, resource)
        try:
            with model_storage.read_from(resource) as model_dir:
                weights = model_dir / WEIGHTS_FILE
                if not weights.exists():  # a model trained before: Rasa's format
                    return super().load(  # type: ignore[return-value]
                        config, model_storage, resource, execution_context, **kwargs
                    )
                with np.load(weights, allow_pickle=False) as arrays:
                    component.clf.coef_ = arrays["coef"]
                    component.clf.intercept_ = arrays["intercept"]
                    component.clf.classes_ = arrays["classes"]
                component.clf.n_features_in_ = component.clf.coef_.shape[1]
                answers = model_dir / ANSWERS_FILE
                component.answers = json.loads(answers.read_text(encoding="utf-8"))
        except ValueError:
            pass  # nothing trained: the untrained component
        return component

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

    def _row(self, message: Message) -> tuple[np.ndarray, np.ndarray] | None:
        """The message's sentence features as the columns and values of the classifier's
        input row (Rasa's `_create_X` in the same order); None if it has none."""
        columns, values, width = [], [], 0
        for features in message.features:
            if features.attribute != TEXT or features.type != FEATURE_TYPE_SENTENCE:
                continue
            if not features.is_sparse():
                return None  # dense features are not used in our pipeline
            row = features.features.tocoo()
            columns.append(row.col + width)
            values.append(row.data)
            width += row.shape[1]
        if width != self.clf.n_features_in_ or not columns:
            return None
        found = np.concatenate(values)
        if not found.any():
            return None  # nothing the training data had: the priors would guess
        return np.concatenate(columns), found

    def _probabilities(self, row: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """scikit-learn's `predict_proba` of the row (multinomial: softmax of the scores)."""
        columns, values = row
        if not self._multinomial():
            width = self.clf.n_features_in_
            matrix = csr_matrix((values, (np.zeros_like(columns), columns)), shape=(1, width))
            return self.clf.predict_proba(matrix)[0]
        scores = self.clf.coef_[:, columns] @ values + self.clf.intercept_
        return softmax(scores)

    def _multinomial(self) -> bool:
        kind = getattr(self.clf, "multi_class", "auto")
        return kind == "multinomial" or (
            kind == "auto" and len(self.clf.classes_) > 2 and self.clf.solver != "liblinear"
        )

    def process(self, messages: list[Message]) -> list[Message]:
        classes = [str(name) for name in self.clf.classes_] if hasattr(self.clf, "classes_") else []
        for message in messages:
            row = self._row(message) if classes else None
            if row is None:
                nothing = {INTENT_NAME_KEY: None, PREDICTED_CONFIDENCE_KEY: 0.0}
                message.set(INTENT, nothing, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [], add_to_output=True)
                continue
            probabilities = [float(p) for p in self._probabilities(row)]
            summed = self._by_intent(classes, probabilities)
            ranking = sorted(
                (
                    {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: confidence}
                    for name, confidence in summed.items()
                ),
                key=lambda item: -item[PREDICTED_CONFIDENCE_KEY],
            )
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking[: self.ranking_length], add_to_output=True)
            topics = self._topics(classes, probabilities)
            if topics:
                message.set(RESPONSE_SELECTOR_PROPERTY_NAME, topics, add_to_output=True)
        return messages

    def _topics(self, classes: list[str], probabilities: list[float]) -> dict[str, Any]:
        """The ResponseSelector's output: per retrieval intent its topics ranked by their
        probability within the intent, and the best topic with its responses."""
        by_intent: dict[str, list[tuple[str, float]]] = {}
        for name, confidence in zip(classes, probabilities, strict=True):
            if "/" in name:
                by_intent.setdefault(name.split("/", 1)[0], []).append((name, confidence))
        selected: dict[str, Any] = {}
        for intent, topics in by_intent.items():
            total = sum(confidence for _, confidence in topics) or 1.0
            ranking = [
                {PREDICTED_CONFIDENCE_KEY: confidence / total, INTENT_RESPONSE_KEY: name}
                for name, confidence in sorted(topics, key=lambda topic: -topic[1])
            ][:TOPICS_RANKED]
            best = ranking[0]
            key = best[INTENT_RESPONSE_KEY]
            selected[intent] = {
                RESPONSE_SELECTOR_PREDICTION_KEY: {
                    "responses": self.answers.get(f"utter_{key}", []),
                    PREDICTED_CONFIDENCE_KEY: best[PREDICTED_CONFIDENCE_KEY],
                    INTENT_RESPONSE_KEY: key,
                    "utter_action": f"utter_{key}",
                },
                RESPONSE_SELECTOR_RANKING_KEY: ranking,
            }
        if not selected:
            return {}
        return {RESPONSE_SELECTOR_RETRIEVAL_INTENTS: sorted(selected), **selected}

    @property
    def ranking_length(self) -> int | None:
        """How many intents the ranking keeps (Rasa's `ranking_length`; 0 keeps all)."""
        return self.config[RANKING_LENGTH] or None
