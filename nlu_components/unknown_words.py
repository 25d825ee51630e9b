"""Send messages with nothing to act on to the fallback: unknown words, or fillers only.

A neural intent classifier always picks some intent, often with high
confidence, even for keyboard mash ("xqzv blorp"), a language the assistant
does not speak, or a bare "hä?" / "yardım edin lütfen" (how confident
depends on the numerics of one training run). This component learns the
vocabulary of the training data (folded words and lemmas) and, for a message
in which fewer than 40 % of the words of three or more letters are known, or
whose words are all fillers (`FILLERS`: "what?", "help", "please" and the
like), only say "I don't know" (`DONT_KNOW`) or have no word or number at
all (punctuation, symbols), sets every intent confidence to zero, so the FallbackClassifier after
it asks the customer what they need.

A word counts as known when it, or its lemma, is in the vocabulary, is one
typo (a deleted, added or changed letter) away from a vocabulary word, or
shares its first five letters with one (Turkish suffixes, German compounds:
"faturalarımızdan", "Stromabrechnungen").
"""

from __future__ import annotations

import re
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.domain.text import fold

_WORD = re.compile(r"[^\W\d_]{3,}")
# Words that ask for attention or help but say for what (German, Turkish,
# and the English a customer may try), compared folded.
FILLERS = frozenset(
    fold(word)
    for word in [
        "hä",
        "häh",
        "hm",
        "hmm",
        "hmmm",
        "äh",
        "ähm",
        "öhm",
        "ehm",
        "was",
        "wie",
        "bitte",
        "hilfe",
        "helfen",
        "sie",
        "mir",
        "mal",
        # "kann mir jmd helfen mit dem ding": help, but with what?
        "kann",
        "jemand",
        "jmd",
        "mit",
        "dem",
        "ding",
        "nasıl",
        "efendim",
        "yardım",
        "yardımcı",
        "lütfen",
        "edin",
        "eder",
        "misiniz",
        "bana",
        "help",
        "please",
        "what",
    ]
)
# Answers that only say the customer does not know (the value asked for, or
# what to ask): with the fillers around them, nothing to act on either. A form
# asks again and offers its way out; outside a form the bot asks what is needed.
DONT_KNOW = frozenset(
    fold(phrase)
    for phrase in [
        "weiß nicht",
        "weiß ich nicht",
        "ich weiß nicht",
        "ich weiß es nicht",
        "das weiß ich nicht",
        "keine ahnung",
        "hab keine ahnung",
        "ich habe keine ahnung",
        "bilmiyorum",
        "bilmiyorum ki",
        "bilemedim",
        "bilmem",
        "hatırlamıyorum",
        "emin değilim",
        "fikrim yok",
    ]
)
PREFIX = 5
MIN_KNOWN_SHARE = 0.4
VOCABULARY_FILE = "vocabulary.txt"


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


class Vocabulary:
    """Known words, with lookups that forgive one typo and inflection."""

    def __init__(self, words: set[str]) -> None:
        self.words = words
        self._deleted: set[str] = set()
        self._prefixes: set[str] = set()
        for word in words:
            if len(word) >= 4:
                self._deleted |= _deletions(word)
            if len(word) >= PREFIX:
                self._prefixes.add(word[:PREFIX])

    def knows(self, word: str) -> bool:
        if word in self.words or word in self._deleted:
            return True
        if len(word) >= PREFIX and word[:PREFIX] in self._prefixes:
            return True
        # one letter deleted (or changed) in the customer's word
        return len(word) >= 4 and any(
            d in self.words or d in self._deleted for d in _deletions(word)
        )


def message_words(message: Message) -> list[tuple[str, str]]:
    """(folded word, folded lemma) for every token of three or more letters."""
    found = []
    for token in message.get(TOKENS_NAMES[TEXT]) or []:
        word = fold(token.text)
        if _WORD.fullmatch(word):
            found.append((word, token.lemma or word))
    return found


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class UnknownWordsFallback(GraphComponent, IntentClassifier):
    """Zero intent confidence when most words of a message are unknown."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {}

    def __init__(
        self, model_storage: ModelStorage, resource: Resource, words: set[str] | None = None
    ) -> None:
        self._storage = model_storage
        self._resource = resource
        self.vocabulary = Vocabulary(words or set())

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> UnknownWordsFallback:
        return cls(model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        words: set[str] = set()
        for message in training_data.training_examples:
            for word, lemma in message_words(message):
                words.update((word, lemma))
        self.vocabulary = Vocabulary(words)
        with self._storage.write_to(self._resource) as directory:
            (directory / VOCABULARY_FILE).write_text("\n".join(sorted(words)), encoding="utf-8")
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> UnknownWordsFallback:
        try:
            with model_storage.read_from(resource) as directory:
                text = (directory / VOCABULARY_FILE).read_text(encoding="utf-8")
        except ValueError:
            text = ""
        return cls(model_storage, resource, set(text.split()))

    def is_unknown(self, message: Message) -> bool:
        words = message_words(message)
        if not words or not self.vocabulary.words:
            return False
        known = sum(
            self.vocabulary.knows(word) or self.vocabulary.knows(lemma) for word, lemma in words
        )
        return known < MIN_KNOWN_SHARE * len(words)

    @staticmethod
    def is_filler_only(message: Message) -> bool:
        """Fillers, perhaps around "I don't know", or no word or number at all ("!!!", "…")."""
        tokens = [fold(token.text) for token in message.get(TOKENS_NAMES[TEXT]) or []]
        content = [t for t in tokens if any(c.isalnum() for c in t)]
        rest = [token for token in content if token not in FILLERS]
        return not rest or " ".join(rest) in DONT_KNOW

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            if message.get(INTENT) and (self.is_unknown(message) or self.is_filler_only(message)):
                intent = dict(message.get(INTENT))
                intent[PREDICTED_CONFIDENCE_KEY] = 0.0
                message.set(INTENT, intent, add_to_output=True)
                ranking = [
                    {**item, PREDICTED_CONFIDENCE_KEY: 0.0}
                    for item in message.get(INTENT_RANKING_KEY) or []
                ]
                message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages
