"""Whether a message reports smelling gas: an emergency that comes before everything else.

A customer who smells gas must hear the safety instructions and the
emergency number at once, whatever the conversation is doing (a form, the
identity check, a conversation handed to a person, the phone's language
menu). This is decided by words, not by the trained classifier, so that it
is the same in every model: a gas word (Gas, Erdgas, Gasleitung, gaz,
doğalgaz) near a smell or leak word (riecht, Geruch, stinkt, Leck, undicht,
zischt, tritt aus, koku, kokuyor, kaçak, sızıntı), or the odorant's smell
("faule Eier", "çürük yumurta"), or a gas alarm. A negation in the same
phrase ("kein Gasgeruch", "riecht nicht nach Gas", "gaz kokusu yok") does
not count. When in doubt the rule says yes: a needless safety instruction
costs a sentence, a missed one can cost lives.

The NLU component (nlu_components/emergency.py), the dialogue policy
(bot/rasa_runtime/emergency_policy.py) and the web chat while a person has
the conversation (bot/web/chat.py) all ask `smells_gas`.
"""

from __future__ import annotations

import re

from bot.domain.text import fold

#: The hazard a message reports (the value of the `hazard` entity).
GAS_SMELL = "gas_smell"

# Words are folded first (ä → a, ı → i, ş → s, ç → c, ğ → g, ß → ss).
_WORD = re.compile(r"[a-z0-9]+")
# gas, erdgas, gasleitung, gasherd, gaz, dogalgaz, gazi (its gas) - but not
# Gast, Gasse, Gaspedal, gazete, gazino, gazoz.
_GAS = re.compile(r"^(erd|flussig|stadt|natur|dogal)?(gas|gaz)(?!t|se|sen|pedal|ete|ino|oz)")
# Smells and leaks, in both languages (and their usual misspellings): word
# beginnings, and whole words where a beginning would catch others (richtig,
# Stromtarif, the Turkish "siz").
_SMELL = re.compile(
    r"^(riech|rieh|riesch|roch|geroch|stink|stank|gestank|geruch|geruc|mief|leck|undicht|zisch"
    r"|ausstrom|entweich|verdacht|warnmeld|alarm|piep|kok|kacak|kacag|kaciyor|kaciy|kacti"
    r"|sizinti|siziyor|sizdi|sizma|sizan|dedektor|tisl)"
    r"|^(richt|richts|riechts|stromt|austritt)$"
)
# Damage counts only for the gas pipe ("Gasleitung kaputt", "gaz borusu delinmiş"),
# not for a broken gas heating.
_DAMAGE = re.compile(
    r"^(kaputt|defekt|beschadigt|abgerissen|gebrochen|getroffen|erwischt|delin|deld|patla|kiril)"
)
_PIPE = re.compile(r"(leitung|rohr|anschluss|boru)")
# Both at once in one compound: Gasgeruch, Gasleck, Gasaustritt, Gasalarm.
_COMPOUND = re.compile(
    r"(gas|gaz)(geruc|gestank|leck|austr|alarm|warnmeld|melder|kacag|kacak|koku)"
)
# The odorant smells like rotten eggs.
_ROTTEN_EGGS = re.compile(r"\bfaul\w*\s+(\w+\s+)?eier|\bcuruk\s+(\w+\s+)?yumurta")
# "Gas tritt aus", "hier tritt Gas aus der Leitung aus".
_ESCAPING = re.compile(
    r"\b\w*(gas|gaz)\w*\s+(tritt|trat|stromt|entweicht|kommt)\s+(\w+\s+){0,3}aus\b"
    r"|\b(tritt|trat|stromt|entweicht)\s+(\w+\s+){0,2}\w*gas\w*\s+(\w+\s+){0,3}aus\b"
)
# Turkish without the word gas: a leak or a hiss, and a smell ("kaçak var, koku var").
_LEAK_AND_SMELL = re.compile(r"\b(kacak|tisl\w*)\b.*\bkoku|\bkoku\w*\b.*\b(kacak|tisl\w*)\b")
# Letters held for emphasis ("gaaaas") count once.
_HELD = re.compile(r"(.)\1{2,}")
# German negations stand before the phrase or inside it ("kein Gasgeruch", "riecht
# nicht nach Gas"), Turkish ones inside it or right after it ("gaz kokusu yok").
_NEGATION_BEFORE = re.compile(r"^(nicht|nich|kein|keine|keinen|keinerlei)$")
_NEGATION_AFTER = re.compile(r"^(yok|degil|kokmuyor|kokmadi|kokmuyo)$")
#: how many words may stand between the gas word and the smell word
WINDOW = 8


def smells_gas(text: str) -> bool:
    """Whether `text` reports smelling gas, a gas leak or a gas alarm."""
    folded = _HELD.sub(r"\1", fold(text))
    if any(p.search(folded) for p in (_ROTTEN_EGGS, _ESCAPING, _LEAK_AND_SMELL)):
        return True
    words = _WORD.findall(folded)
    for index, word in enumerate(words):
        if _COMPOUND.search(word) and not _negated(words, index, index, noun=True):
            return True
        if not _GAS.match(word):
            continue
        low, high = max(0, index - WINDOW), min(len(words), index + WINDOW + 1)
        near = [other for other in range(low, high) if other != index]
        pipe = _PIPE.search(word) or any(_PIPE.search(words[other]) for other in near)
        for other in near:
            alarming = _SMELL.match(words[other]) or (pipe and _DAMAGE.match(words[other]))
            if alarming and not _negated(words, min(index, other), max(index, other)):
                return True
    return False


def _negated(words: list[str], first: int, last: int, *, noun: bool = False) -> bool:
    """A negation of the phrase `words[first:last + 1]` ("kein Gasgeruch", "koku yok";
    for a noun also "Gasgeruch habe ich keinen")."""
    before = words[max(0, first - 1) : last + 1]
    after = words[first : last + 3]
    if any(_NEGATION_BEFORE.match(w) for w in before) or any(
        _NEGATION_AFTER.match(w) for w in after
    ):
        return True
    return noun and any(w in ("keinen", "keine") for w in words[last + 1 : last + 4])
