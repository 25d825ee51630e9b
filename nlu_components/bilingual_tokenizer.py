"""A tokenizer for German and Turkish in one model, with folded lemmas.

spaCy's blank `de` and `tr` tokenizers split the text and spaCy's lookup
lemma tables (from the `spacy-lookups-data` package, nothing downloaded,
read from SQLite files: nlu_components/lemma_tables.py) give each word's lemma. The message's language picks the pipeline; a word the
table does not know is looked up in the other language's table, because
Turkish sentences carry German utility words ("Abschlag'ımı"). Each token's
lemma is then folded (Turkish-aware lower case, umlauts and Turkish letters
folded, `ae` = `ä`) so the featurizers see one form for every spelling.
Turkish suffixes after an apostrophe become their own token.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import spacy
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.domain.language import detect
from bot.domain.languages import LANGUAGES
from bot.domain.text import fold, lower
from nlu_components.lemma_tables import LemmaTable

_APOSTROPHE_SUFFIX = re.compile(r"^([^\W\d_]+)['’]([^\W\d_]+)$")


@cache
def lemma_table(language: str) -> LemmaTable:
    """spaCy's lookup lemma table for `language` (spacy-lookups-data), one per process."""
    return LemmaTable(language)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class BilingualTokenizer(Tokenizer):
    """spaCy tokens for German or Turkish text; lemmas folded for featurizing."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
        }

    @staticmethod
    def required_packages() -> list[str]:
        # Rasa treats these both as import and as distribution names, so only
        # packages whose two names agree can be listed.
        return ["spacy"]

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self._tokenizers = {lang: spacy.blank(lang).tokenizer for lang in LANGUAGES}
        self._tables = {lang: lemma_table(lang) for lang in LANGUAGES}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> BilingualTokenizer:
        return cls(config)

    def lemma(self, word: str, language: str) -> str:
        """The folded lemma of `word`, preferring the message's language."""
        other = "tr" if language == "de" else "de"
        for lang in (language, other):
            table = self._tables[lang]
            for form in (word, lower(word, lang)):
                found = table.get(form)
                if found is not None:
                    return fold(found, lang)
        return fold(word, language)

    def _pieces(self, word: str, start: int) -> list[tuple[str, int]]:
        match = _APOSTROPHE_SUFFIX.match(word)
        if not match:
            return [(word, start)]
        stem, suffix = match.group(1), match.group(2)
        return [(stem, start), (suffix, start + len(stem) + 1)]

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        text = message.get(attribute) or ""
        language = (detect(text) if attribute == TEXT else None) or "de"
        tokens: list[Token] = []
        for spacy_token in self._tokenizers[language](text):
            if spacy_token.is_space:
                continue
            for piece, start in self._pieces(spacy_token.text, spacy_token.idx):
                tokens.append(Token(piece, start, lemma=self.lemma(piece, language)))
        if not tokens:
            tokens = [Token(text, 0, lemma=fold(text))]
        return self._apply_token_pattern(tokens)
