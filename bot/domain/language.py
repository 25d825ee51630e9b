"""Which language (German or Turkish) a customer is writing in.

The conversation language is sticky: once set, it changes only on a clear
signal (a full sentence in the other language, or an explicit request), so a
German utility word inside a Turkish sentence ("Jahresabrechnung geldi") never
flips the conversation. Detection votes word by word because customers mix
German nouns into Turkish grammar; lingua's models ship inside its wheel.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

from bot.domain.languages import DEFAULT_LANGUAGE, LANGUAGES
from bot.domain.text import fold

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)
_CODES = {Language.GERMAN: "de", Language.TURKISH: "tr"}
WORD_CONFIDENCE = 0.7
MIN_WORDS_TO_SWITCH = 3
SWITCH_SHARE = 0.75

# Words that decide on their own, whatever the detector thinks of them.
_TURKISH_WORDS = {
    fold(w)
    for w in [
        "merhaba",
        "selam",
        "selamlar",
        "evet",
        "hayır",
        "tamam",
        "teşekkürler",
        "teşekkür",
        "sağol",
        "sağolun",
        "lütfen",
        "istiyorum",
        "var",
        "yok",
        "mı",
        "mi",
        "mu",
        "mü",
        "ne",
        "neden",
        "nasıl",
        "kadar",
        "benim",
        "bana",
        "faturam",
        "geldi",
        "yüksek",
        "için",
        "ile",
        "ama",
        "çok",
        "iyi",
        "günler",
    ]
}
_GERMAN_WORDS = {
    fold(w)
    for w in [
        "hallo",
        "guten",
        "tag",
        "morgen",
        "abend",
        "ja",
        "nein",
        "danke",
        "bitte",
        "ich",
        "meine",
        "mein",
        "möchte",
        "will",
        "ist",
        "nicht",
        "wie",
        "was",
        "warum",
        "wann",
        "auf",
        "wiedersehen",
        "tschüss",
        "moin",
        "servus",
        "tach",
    ]
}


@dataclass(frozen=True)
class LanguageVotes:
    german: int
    turkish: int

    @property
    def total(self) -> int:
        return self.german + self.turkish

    @property
    def winner(self) -> str | None:
        if self.total == 0:
            return None
        # A tie goes to Turkish: in mixed text the German words are the
        # borrowed utility nouns, the Turkish words carry the sentence.
        return "tr" if self.turkish >= self.german else "de"

    def share(self, language: str) -> float:
        if self.total == 0:
            return 0.0
        return (self.german if language == "de" else self.turkish) / self.total


@lru_cache(maxsize=1)
def _detector() -> LanguageDetector:
    return (
        LanguageDetectorBuilder.from_languages(Language.GERMAN, Language.TURKISH, Language.ENGLISH)
        .with_preloaded_language_models()
        .build()
    )


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def _word_language(word: str) -> str | None:
    key = fold(word)
    if key in _TURKISH_WORDS:
        return "tr"
    if key in _GERMAN_WORDS:
        return "de"
    if len(word) < 3:
        return None
    best = _detector().compute_language_confidence_values(word)[0]
    if best.value < WORD_CONFIDENCE:
        return None
    return _CODES.get(best.language)


def votes(text: str) -> LanguageVotes:
    """Count words that are clearly German or clearly Turkish."""
    found = [_word_language(w) for w in words(text)]
    return LanguageVotes(german=found.count("de"), turkish=found.count("tr"))


def detect(text: str) -> str | None:
    """The language of one message, or None when it has no telling words."""
    return votes(text).winner


def next_language(current: str | None, text: str) -> str:
    """The conversation language after the customer wrote `text`.

    Without a current language, the message decides (German by default).
    With one, only a message of several words that is mostly in the other
    language switches it.
    """
    tally = votes(text)
    if current not in LANGUAGES:
        return tally.winner or DEFAULT_LANGUAGE
    other = "tr" if current == "de" else "de"
    if (
        tally.winner == other
        and tally.total >= MIN_WORDS_TO_SWITCH
        and tally.share(other) >= SWITCH_SHARE
    ):
        return other
    return current


_TARGETS = {
    "tr": ("turk", "turkisch", "turkce", "turkish"),
    "de": ("deutsch", "almanca", "alman", "german", "doitsch"),
}


def requested_language(text: str) -> str | None:
    """Which language a customer asks for ("auf Türkisch bitte" → tr)."""
    folded = fold(text)
    hits = {lang for lang, stems in _TARGETS.items() if any(s in folded for s in stems)}
    return hits.pop() if len(hits) == 1 else None
